/* sort: read lines from stdin, sort them (strcmp), print them with a count of duplicates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void)
{
    size_t cap = 1024, n = 0, len = 0, lcap = 0;
    char **lines = malloc(cap * sizeof *lines);
    char *line = NULL;
    int c;
    for (;;) {
        c = getchar();
        if (c == EOF && len == 0) break;
        if (len + 1 >= lcap) { lcap = lcap ? lcap * 2 : 64; line = realloc(line, lcap); }
        if (c == '\n' || c == EOF) {
            line[len] = 0;
            if (n == cap) { cap *= 2; lines = realloc(lines, cap * sizeof *lines); }
            lines[n++] = strdup(line);
            len = 0;
            if (c == EOF) break;
        } else line[len++] = (char)c;
    }
    qsort(lines, n, sizeof *lines, cmp);
    size_t uniq = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j + 1 < n && strcmp(lines[j + 1], lines[i]) == 0) j++;
        printf("%4zu %s\n", j - i + 1, lines[i]);
        uniq++;
        i = j;
    }
    fprintf(stderr, "%zu lines, %zu distinct\n", n, uniq);
    for (size_t i = 0; i < n; i++) free(lines[i]);
    free(lines); free(line);
    return 0;
}
