/* Socket addresses for the network cases: one definition instead of a copy per program. */
#ifndef COMPAT_INET_H
#define COMPAT_INET_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

/* 127.0.0.1:port */
static inline struct sockaddr_in lo4(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* An IPv6 address written as text (e.g. "::1"), with port. */
static inline struct sockaddr_in6 addr6(const char *text, int port)
{
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, text, &a.sin6_addr);
    return a;
}
#endif
