/* sqlitebench DIR [DEV]: Debian's sqlite3 (/usr/bin/sqlite3, dynamic glibc: the image's
 * tree under our kernel, the initramfs in the Linux guest) runs /ins.sql against a new
 * database DIR/bench.db: a CREATE TABLE and 10,000 INSERTs, each its own transaction
 * (sqlite3's default rollback journal: per transaction the -journal file is created,
 * written and fsync'd, the database written and fsync'd, the journal deleted), then a
 * count. Prints "sqlite_10k_tx_s SECONDS", fork+execve to exit. With DEV (the Linux
 * guest), mounts DEV (ext4) on DIR first and unmounts at the end. */
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"
int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/vol";
    char db[256];
    if (argc > 2) {
        mkdir(dir, 0755);
        if (mount(argv[2], dir, "ext4", 0, 0) != 0) { perror("mount"); return 1; }
    }
    snprintf(db, sizeof db, "%s/bench.db", dir);
    double t0 = bench_now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        execl("/usr/bin/sqlite3", "sqlite3", db, ".read /ins.sql", "SELECT count(*) FROM t;", (char *)0);
        perror("execl /usr/bin/sqlite3");
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "sqlite3 failed (status %#x)\n", st);
        return 1;
    }
    double t1 = bench_now_ns();
    printf("sqlite_10k_tx_s %.3f\n", (t1 - t0) / 1e9);
    if (argc > 2) { sync(); umount(dir); }
    return 0;
}
