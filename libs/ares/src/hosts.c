/*
 * The hosts file, read by weft-ares itself: c-ares 1.18 has no option for
 * its path (ARES_OPT_HOSTS_FILE came later) and re-reads /etc/hosts at
 * every lookup. The file is parsed once into a sorted table and parsed
 * again when its device, inode, size or modification time change (one
 * stat per lookup). Format as hosts(5): an address, then names; '#' starts
 * a comment. Names match case-insensitively and exactly (no search
 * domains, as in glibc's files backend); a name on several lines has every
 * address, in file order.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ares_internal.h"

static void entries_free(weft__ares_hosts *h) {
    for (size_t i = 0; i < h->n; i++) free(h->entries[i].name);
    free(h->entries);
    h->entries = NULL;
    h->n = 0;
}

int weft__ares_hosts_init(weft__ares_hosts *h, const char *path) {
    memset(h, 0, sizeof *h);
    if (path) {
        h->path = strdup(path);
        if (!h->path) return -ENOMEM;
    }
    pthread_mutex_init(&h->lock, NULL);
    return 0;
}

void weft__ares_hosts_destroy(weft__ares_hosts *h) {
    entries_free(h);
    free(h->path);
    h->path = NULL;
    pthread_mutex_destroy(&h->lock);
}

/* An address as hosts(5) writes it: dotted quad, or IPv6 with an
 * optional %scope (an interface name or number). */
static bool parse_addr(const char *text, weft_sockaddr *out) {
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, text, &out->u.in4.sin_addr) == 1) {
        out->u.in4.sin_family = AF_INET;
        out->len = sizeof out->u.in4;
        return true;
    }
    char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    if (strlen(text) >= sizeof buf) return false;
    strcpy(buf, text);
    char *scope = strchr(buf, '%');
    if (scope) *scope++ = 0;
    if (inet_pton(AF_INET6, buf, &out->u.in6.sin6_addr) != 1) return false;
    out->u.in6.sin6_family = AF_INET6;
    if (scope) {
        char *end;
        unsigned long id = strtoul(scope, &end, 10);
        if (*scope && !*end) {
            out->u.in6.sin6_scope_id = (uint32_t)id;
        } else {
            unsigned idx = if_nametoindex(scope);
            if (!idx) return false;
            out->u.in6.sin6_scope_id = idx;
        }
    }
    out->len = sizeof out->u.in6;
    return true;
}

static int by_name(const void *a, const void *b) {
    const weft__ares_host *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->line < y->line ? -1 : x->line > y->line;
}

static void lower(char *s) {
    for (; *s; s++) *s = (char)tolower((unsigned char)*s);
}

/* Parses the file into h (whose old table is gone). A missing file is an
 * empty table. 0 or -ENOMEM. */
static int parse(weft__ares_hosts *h, FILE *f) {
    size_t cap = 0;
    char *line = NULL;
    size_t linecap = 0, lineno = 0;
    int err = 0;
    while (getline(&line, &linecap, f) >= 0) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *save = NULL;
        char *tok = strtok_r(line, " \t\r\n", &save);
        if (!tok) continue;
        weft_sockaddr addr;
        if (!parse_addr(tok, &addr)) continue;
        while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
            if (strlen(tok) > 255) continue;
            if (h->n == cap) {
                size_t ncap = cap ? cap * 2 : 32;
                weft__ares_host *ne = realloc(h->entries, ncap * sizeof *ne);
                if (!ne) {
                    err = -ENOMEM;
                    goto out;
                }
                h->entries = ne;
                cap = ncap;
            }
            char *name = strdup(tok);
            if (!name) {
                err = -ENOMEM;
                goto out;
            }
            lower(name);
            h->entries[h->n++] = (weft__ares_host){name, lineno, addr};
        }
    }
    qsort(h->entries, h->n, sizeof *h->entries, by_name);
out:
    free(line);
    return err;
}

/* Makes the table match the file. Under h->lock. 0 or -ENOMEM. */
static int refresh(weft__ares_hosts *h) {
    struct stat st;
    if (stat(h->path, &st) != 0) {
        /* No file (or no access): no names. */
        entries_free(h);
        h->loaded = false;
        return 0;
    }
    if (h->loaded && st.st_dev == h->dev && st.st_ino == h->ino && st.st_size == h->size &&
        st.st_mtim.tv_sec == h->mtime.tv_sec && st.st_mtim.tv_nsec == h->mtime.tv_nsec)
        return 0;
    entries_free(h);
    h->loaded = false;
    FILE *f = fopen(h->path, "re");
    if (!f) return 0;
    int err = parse(h, f);
    fclose(f);
    if (err) {
        entries_free(h);
        return err;
    }
    h->loaded = true;
    h->dev = st.st_dev;
    h->ino = st.st_ino;
    h->size = st.st_size;
    h->mtime = st.st_mtim;
    return 0;
}

int weft__ares_hosts_lookup(weft__ares_hosts *h, const char *name, uint16_t port, weft_lookup *l) {
    if (!h->path) return 0;
    char key[256];
    size_t len = strlen(name);
    if (len >= sizeof key) return 0;
    memcpy(key, name, len + 1);
    lower(key);
    pthread_mutex_lock(&h->lock);
    int err = refresh(h);
    int added = 0;
    if (!err) {
        /* The first entry with the name, then its neighbours. */
        size_t lo = 0, hi = h->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(h->entries[mid].name, key) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i < h->n && strcmp(h->entries[i].name, key) == 0; i++) {
            weft_sockaddr a = h->entries[i].addr;
            weft_sockaddr_set_port(&a, port);
            if (weft_lookup_add(l, &a.u.sa, a.len)) added++;
        }
    }
    pthread_mutex_unlock(&h->lock);
    return err ? err : added;
}
