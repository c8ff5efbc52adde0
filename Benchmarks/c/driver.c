/*
 * driver.c - the load generator of scripts/bench.sh, used identically for every
 * subject (the agent, the C responder, the shell pattern). Never part of the
 * test suite.
 *
 *   cc -O2 -o driver driver.c -lmosquitto -lpthread
 *
 * Modes (all print one JSON line on stdout; diagnostics go to stderr):
 *
 *   driver [common] --name NAME -n N [--start I] [--warmup W] [--samples FILE]
 *       Round trips: subscribe to fleet/NAME/response (QoS 1), then send N
 *       sequential {"command":"version-report","id":"b-<i>"} (i = I+1 .. I+N;
 *       --command WORD sends another command word, e.g. status-report)
 *       to fleet/NAME/command (QoS 1), each time waiting for the response that
 *       carries that id (5 s timeout per request = one failure). Prints
 *       subject, n, p50_us, p90_us, p99_us, max_us, mean_us, rate_per_s,
 *       failures. --samples appends each round trip (µs) to FILE.
 *
 *   driver [common] --broadcast K [--prefix P] [--cpu-pid PID]
 *       Waits until K distinct hatchlings (names starting with P) have an
 *       "online" status on fleet/+/status (retained ones count), publishes one
 *       command on zephyr/broadcast and times until K responses with its id
 *       arrived on fleet/+/response. --cpu-pid: CPU time that process (the
 *       broker) used between the publish and the last answer.
 *
 *   driver [common] --wait-online K [--prefix P] [--since-ns REALTIME_NS] [--fresh]
 *       Time from its start (or from the CLOCK_REALTIME instant given) until K
 *       distinct online statuses were seen. --fresh ignores retained ones.
 *
 *   driver [common] --name NAME --spawn-online -- CMD [ARGS...]
 *       [--env K=V]... Subscribes to fleet/NAME/status, then forks CMD (with
 *       the K=V settings added to its environment) and times from the fork
 *       to the first (not retained) online status; then stops CMD (SIGTERM, at
 *       most 5 s, then SIGKILL to its process group).
 *
 *   driver --stats [--subject S] [--failures F] FILE...
 *       Percentiles over sample files written by --samples.
 *
 * common: --host H (127.0.0.1) --port P (1883) --subject LABEL
 *         --timeout S (overall wait limit of the waiting modes, default 60)
 *         --req-timeout-ms MS (default 5000)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---------- time ---------- */
static int64_t now_ns(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static int64_t mono_ns(void) { return now_ns(CLOCK_MONOTONIC); }

/* ---------- options ---------- */
static const char *host = "127.0.0.1";
static int port = 1883;
static const char *name = NULL;
static const char *command_word = "version-report"; /* --command: the round-trip mode's command */
static const char *subject = NULL;
static const char *prefix = "";
static long n_req = 1000, start_i = 0, warmup = 20;
static const char *samples_path = NULL;
static long bcast_k = 0, online_k = 0;
static int spawn_mode = 0, stats_mode = 0, fresh = 0;
static long cpu_pid = 0;
static int64_t since_ns = 0;
static double overall_timeout_s = 60;
static long req_timeout_ms = 5000;
static long stats_failures = 0;
static char *child_env[32];
static int n_child_env = 0;

/* ---------- shared state ---------- */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static int connected = 0, connect_rc = -1, subacks = 0;
static char want_id[96];
static int got_want = 0;

/* a small set of strings (hatchling names) */
typedef struct { char **slots; size_t cap, count; } strset;
static void set_init(strset *s, size_t want) {
    size_t cap = 64;
    while (cap < want * 2 + 16) cap <<= 1;
    s->slots = calloc(cap, sizeof(char *));
    s->cap = cap;
    s->count = 0;
}
static uint64_t hash(const char *p) {
    uint64_t h = 1469598103934665603ULL;
    while (*p) { h ^= (unsigned char)*p++; h *= 1099511628211ULL; }
    return h;
}
/* returns 1 if added, 0 if present (or full) */
static int set_add(strset *s, const char *k) {
    if (s->count * 2 >= s->cap) return 0;
    size_t i = hash(k) & (s->cap - 1);
    while (s->slots[i]) {
        if (strcmp(s->slots[i], k) == 0) return 0;
        i = (i + 1) & (s->cap - 1);
    }
    s->slots[i] = strdup(k);
    s->count++;
    return 1;
}

static strset online_set, resp_set;
static int64_t t_start_mono, t_bcast_mono = 0;
static int64_t *arrivals = NULL; /* broadcast: arrival times (ns after publish) */
static char bcast_id[96];
typedef struct { char name[80]; double us; } named_time;
static named_time first_online[16];
static int n_first_online = 0;
static double last_online_us = 0; /* time of the latest new online name */

/* Copies the string value of "key" in a flat JSON text; returns length or -1. */
static int json_str(const char *p, int len, const char *key, char *out, int cap) {
    char pat[80];
    int pl = snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *end = p + len, *k = p;
    while (k < end && (k = memmem(k, (size_t)(end - k), pat, (size_t)pl)) != NULL) {
        const char *v = k + pl;
        while (v < end && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')) v++;
        if (v < end && *v == ':') {
            v++;
            while (v < end && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')) v++;
            if (v < end && *v == '"') {
                v++;
                int n = 0;
                while (v < end && *v != '"' && n < cap - 1) out[n++] = *v++;
                out[n] = 0;
                return n;
            }
        }
        k = k + pl;
    }
    if (cap > 0) out[0] = 0;
    return -1;
}

/* fleet/<name>/<leaf> -> name, if leaf matches */
static int topic_name(const char *topic, const char *leaf, char *out, int cap) {
    if (strncmp(topic, "fleet/", 6) != 0) return -1;
    const char *a = topic + 6, *b = strchr(a, '/');
    if (!b || strcmp(b + 1, leaf) != 0) return -1;
    int n = (int)(b - a);
    if (n >= cap) return -1;
    memcpy(out, a, (size_t)n);
    out[n] = 0;
    return n;
}

static int want_name(const char *nm) {
    if (name && (spawn_mode || (!bcast_k && !online_k))) return strcmp(nm, name) == 0;
    return strncmp(nm, prefix, strlen(prefix)) == 0;
}

static void on_connect(struct mosquitto *m, void *ud, int rc) {
    (void)ud;
    char t[256];
    if (rc == 0) {
        if (bcast_k || online_k) {
            mosquitto_subscribe(m, NULL, "fleet/+/status", 1);
            if (bcast_k) mosquitto_subscribe(m, NULL, "fleet/+/response", 1);
        } else if (spawn_mode) {
            snprintf(t, sizeof t, "fleet/%s/status", name);
            mosquitto_subscribe(m, NULL, t, 1);
        } else {
            snprintf(t, sizeof t, "fleet/%s/response", name);
            mosquitto_subscribe(m, NULL, t, 1);
        }
    }
    pthread_mutex_lock(&mu);
    connected = (rc == 0);
    connect_rc = rc;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int qc, const int *g) {
    (void)m; (void)ud; (void)mid; (void)qc; (void)g;
    pthread_mutex_lock(&mu);
    subacks++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg) {
    (void)m; (void)ud;
    int64_t t = mono_ns();
    const char *p = msg->payload ? (const char *)msg->payload : "";
    int len = msg->payloadlen;
    char nm[80], v[96];
    if (topic_name(msg->topic, "status", nm, sizeof nm) >= 0) {
        if (fresh && msg->retain) return;
        if (json_str(p, len, "state", v, sizeof v) < 0 || strcmp(v, "online") != 0) return;
        if (!want_name(nm)) return;
        pthread_mutex_lock(&mu);
        if (set_add(&online_set, nm)) {
            double us = since_ns ? (now_ns(CLOCK_REALTIME) - since_ns) / 1e3 : (t - t_start_mono) / 1e3;
            last_online_us = us;
            if (n_first_online < 16) {
                snprintf(first_online[n_first_online].name, sizeof first_online[0].name, "%s", nm);
                first_online[n_first_online++].us = us;
            }
            pthread_cond_broadcast(&cv);
        }
        pthread_mutex_unlock(&mu);
        return;
    }
    if (topic_name(msg->topic, "response", nm, sizeof nm) >= 0) {
        json_str(p, len, "id", v, sizeof v);
        pthread_mutex_lock(&mu);
        if (bcast_k) {
            if (t_bcast_mono && strcmp(v, bcast_id) == 0 && want_name(nm)) {
                size_t before = resp_set.count;
                if (set_add(&resp_set, nm)) arrivals[before] = t - t_bcast_mono;
                pthread_cond_broadcast(&cv);
            }
        } else if (!got_want && strcmp(v, want_id) == 0) {
            got_want = 1;
            pthread_cond_broadcast(&cv);
        }
        pthread_mutex_unlock(&mu);
    }
}

/* wait on cv until pred() or deadline (monotonic ns); mu held by caller */
static int wait_until(int (*pred)(void), int64_t deadline) {
    while (!pred()) {
        if (mono_ns() >= deadline) return 0;
        struct timespec ts;
        int64_t d = deadline;
        ts.tv_sec = d / 1000000000LL;
        ts.tv_nsec = d % 1000000000LL;
        pthread_cond_timedwait(&cv, &mu, &ts);
    }
    return 1;
}
static long subacks_needed = 1;
static int p_ready(void) { return connected && subacks >= subacks_needed; }
static int p_got(void) { return got_want; }
static int p_online(void) { return (long)online_set.count >= (bcast_k ? bcast_k : online_k); }
static int p_bresp(void) { return (long)resp_set.count >= bcast_k; }
static int p_online1(void) { return online_set.count >= 1; }

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double pct(const double *s, long n, double p) {
    if (n <= 0) return 0;
    long i = (long)((p * n) + 0.999999) - 1;
    if (i < 0) i = 0;
    if (i >= n) i = n - 1;
    return s[i];
}
static void print_rtt(const char *subj, double *s, long n, long failures, double elapsed_s) {
    qsort(s, (size_t)n, sizeof(double), cmp_d);
    double sum = 0;
    for (long i = 0; i < n; i++) sum += s[i];
    printf("{\"subject\":\"%s\",\"n\":%ld,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,"
           "\"mean_us\":%.1f,\"rate_per_s\":%.1f,\"failures\":%ld,\"elapsed_s\":%.3f}\n",
           subj ? subj : "", n, pct(s, n, .50), pct(s, n, .90), pct(s, n, .99), n ? s[n - 1] : 0,
           n ? sum / n : 0, sum > 0 ? n / (sum / 1e6) : 0, failures, elapsed_s);
    fflush(stdout);
}

static int stats_main(int argc, char **argv, int first) {
    long cap = 1 << 16, n = 0;
    double *s = malloc(sizeof(double) * (size_t)cap);
    for (int i = first; i < argc; i++) {
        FILE *f = fopen(argv[i], "r");
        if (!f) { fprintf(stderr, "driver: cannot read %s\n", argv[i]); continue; }
        double v;
        while (fscanf(f, "%lf", &v) == 1) {
            if (n == cap) { cap *= 2; s = realloc(s, sizeof(double) * (size_t)cap); }
            s[n++] = v;
        }
        fclose(f);
    }
    print_rtt(subject, s, n, stats_failures, 0);
    return 0;
}

static void read_cpu(long pid, double *ticks_ms, double *sched_ms) {
    char path[64], buf[4096];
    *ticks_ms = -1;
    *sched_ms = -1;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f) {
        size_t r = fread(buf, 1, sizeof buf - 1, f);
        buf[r] = 0;
        fclose(f);
        char *q = strrchr(buf, ')');
        if (q) {
            unsigned long ut = 0, st = 0;
            /* fields after ')': state(3) ... utime(14) stime(15) */
            char *tok = strtok(q + 2, " ");
            for (int fi = 3; tok; fi++, tok = strtok(NULL, " ")) {
                if (fi == 14) ut = strtoul(tok, NULL, 10);
                if (fi == 15) { st = strtoul(tok, NULL, 10); break; }
            }
            *ticks_ms = (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
        }
    }
    snprintf(path, sizeof path, "/proc/%ld/schedstat", pid);
    f = fopen(path, "r");
    if (f) {
        unsigned long long ns = 0;
        if (fscanf(f, "%llu", &ns) == 1) *sched_ms = ns / 1e6;
        fclose(f);
    }
}

static void usage(void) {
    fprintf(stderr, "usage: see the comment at the top of Benchmarks/c/driver.c\n");
}

int main(int argc, char **argv) {
    int i, cmd_at = -1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (usage(), exit(2), (char *)0))
        if (!strcmp(a, "--host")) host = NEXT();
        else if (!strcmp(a, "--port")) port = atoi(NEXT());
        else if (!strcmp(a, "--name")) name = NEXT();
        else if (!strcmp(a, "--command")) command_word = NEXT();
        else if (!strcmp(a, "--subject")) subject = NEXT();
        else if (!strcmp(a, "--prefix")) prefix = NEXT();
        else if (!strcmp(a, "-n")) n_req = atol(NEXT());
        else if (!strcmp(a, "--start")) start_i = atol(NEXT());
        else if (!strcmp(a, "--warmup")) warmup = atol(NEXT());
        else if (!strcmp(a, "--samples")) samples_path = NEXT();
        else if (!strcmp(a, "--broadcast")) bcast_k = atol(NEXT());
        else if (!strcmp(a, "--wait-online")) online_k = atol(NEXT());
        else if (!strcmp(a, "--cpu-pid")) cpu_pid = atol(NEXT());
        else if (!strcmp(a, "--since-ns")) since_ns = atoll(NEXT());
        else if (!strcmp(a, "--fresh")) fresh = 1;
        else if (!strcmp(a, "--timeout")) overall_timeout_s = atof(NEXT());
        else if (!strcmp(a, "--req-timeout-ms")) req_timeout_ms = atol(NEXT());
        else if (!strcmp(a, "--failures")) stats_failures = atol(NEXT());
        else if (!strcmp(a, "--env")) { if (n_child_env < 32) child_env[n_child_env++] = NEXT(); else (void)NEXT(); }
        else if (!strcmp(a, "--stats")) { stats_mode = 1; }
        else if (!strcmp(a, "--spawn-online")) spawn_mode = 1;
        else if (!strcmp(a, "--")) { cmd_at = i + 1; break; }
        else if (stats_mode && a[0] != '-') break;
        else { fprintf(stderr, "driver: unknown argument %s\n", a); usage(); return 2; }
    }
    if (stats_mode) return stats_main(argc, argv, i);
    if ((spawn_mode || (!bcast_k && !online_k)) && !name) { fprintf(stderr, "driver: --name is required\n"); return 2; }
    if (spawn_mode && (cmd_at < 0 || cmd_at >= argc)) { fprintf(stderr, "driver: --spawn-online needs -- CMD\n"); return 2; }
    if (!subject) subject = name ? name : "fleet";

    t_start_mono = mono_ns();
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cv, &ca);
    long k = bcast_k ? bcast_k : online_k;
    set_init(&online_set, (size_t)(k > 0 ? k : 4));
    set_init(&resp_set, (size_t)(k > 0 ? k : 4));
    if (bcast_k) arrivals = calloc((size_t)bcast_k + 1, sizeof(int64_t));
    subacks_needed = bcast_k ? 2 : 1;

    mosquitto_lib_init();
    char cid[96];
    snprintf(cid, sizeof cid, "bench-driver-%d-%lld", (int)getpid(), (long long)(now_ns(CLOCK_REALTIME) % 1000000000LL));
    struct mosquitto *m = mosquitto_new(cid, true, NULL);
    if (!m) { perror("mosquitto_new"); return 1; }
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, 1000);
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_subscribe_callback_set(m, on_subscribe);
    mosquitto_message_callback_set(m, on_message);
    if (mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) { fprintf(stderr, "driver: loop_start failed\n"); return 1; }
    int rc = mosquitto_connect_async(m, host, port, 60);
    if (rc != MOSQ_ERR_SUCCESS) fprintf(stderr, "driver: connect_async: %s (retrying)\n", mosquitto_strerror(rc));

    int64_t deadline = mono_ns() + (int64_t)(overall_timeout_s * 1e9);
    pthread_mutex_lock(&mu);
    int ok = wait_until(p_ready, mono_ns() + 10000000000LL);
    pthread_mutex_unlock(&mu);
    if (!ok) {
        fprintf(stderr, "driver: not connected/subscribed within 10 s (rc=%d)\n", connect_rc);
        printf("{\"subject\":\"%s\",\"error\":\"not connected\"}\n", subject);
        return 1;
    }
    int status = 0;

    if (spawn_mode) {
        pthread_mutex_lock(&mu);
        int64_t t0 = mono_ns();
        t_start_mono = t0;
        pthread_mutex_unlock(&mu);
        pid_t child = fork();
        if (child == 0) {
            setpgid(0, 0);
            dup2(2, 1);
            for (int e = 0; e < n_child_env; e++) putenv(child_env[e]);
            execvp(argv[cmd_at], &argv[cmd_at]);
            perror("driver: exec");
            _exit(127);
        }
        if (child < 0) { perror("fork"); return 1; }
        pthread_mutex_lock(&mu);
        ok = wait_until(p_online1, t0 + (int64_t)(overall_timeout_s * 1e9));
        double us = ok ? first_online[0].us : -1;
        pthread_mutex_unlock(&mu);
        printf("{\"subject\":\"%s\",\"start_to_online_us\":%.1f,\"ok\":%s}\n", subject, us, ok ? "true" : "false");
        fflush(stdout);
        kill(child, SIGTERM);
        int ws, done = 0;
        for (int w = 0; w < 500 && !done; w++) {
            if (waitpid(child, &ws, WNOHANG) == child) done = 1;
            else usleep(10000);
        }
        kill(-child, SIGKILL); /* leftovers of its own process group (a supervisor's worker) */
        if (!done) { waitpid(child, &ws, 0); fprintf(stderr, "driver: %s needed SIGKILL\n", argv[cmd_at]); }
        status = ok ? 0 : 1;
    } else if (online_k && !bcast_k) {
        pthread_mutex_lock(&mu);
        ok = wait_until(p_online, deadline);
        long got = (long)online_set.count;
        double last = last_online_us;
        printf("{\"subject\":\"%s\",\"k\":%ld,\"online\":%ld,\"all_online_us\":%.1f,\"ok\":%s", subject, online_k, got,
               ok ? last : -1.0, ok ? "true" : "false");
        if (online_k <= 16) {
            printf(",\"names\":{");
            for (int j = 0; j < n_first_online; j++)
                printf("%s\"%s\":%.1f", j ? "," : "", first_online[j].name, first_online[j].us);
            printf("}");
        }
        printf("}\n");
        fflush(stdout);
        pthread_mutex_unlock(&mu);
        status = ok ? 0 : 1;
    } else if (bcast_k) {
        pthread_mutex_lock(&mu);
        ok = wait_until(p_online, deadline);
        long on = (long)online_set.count;
        pthread_mutex_unlock(&mu);
        if (!ok) fprintf(stderr, "driver: only %ld of %ld online before the broadcast; sending anyway\n", on, bcast_k);
        snprintf(bcast_id, sizeof bcast_id, "bc-%d-%lld", (int)getpid(), (long long)(now_ns(CLOCK_REALTIME) / 1000));
        char payload[160];
        int pl = snprintf(payload, sizeof payload, "{\"command\":\"version-report\",\"id\":\"%s\"}", bcast_id);
        double c0t = 0, c0s = 0, c1t = 0, c1s = 0;
        if (cpu_pid) read_cpu(cpu_pid, &c0t, &c0s);
        pthread_mutex_lock(&mu);
        t_bcast_mono = mono_ns();
        pthread_mutex_unlock(&mu);
        mosquitto_publish(m, NULL, "zephyr/broadcast", pl, payload, 1, false);
        pthread_mutex_lock(&mu);
        int all = wait_until(p_bresp, t_bcast_mono + (int64_t)(overall_timeout_s * 1e9));
        int64_t t_end = mono_ns();
        long got = (long)resp_set.count;
        if (cpu_pid) read_cpu(cpu_pid, &c1t, &c1s);
        double *s = malloc(sizeof(double) * (size_t)(got + 1));
        for (long j = 0; j < got; j++) s[j] = arrivals[j] / 1e3;
        pthread_mutex_unlock(&mu);
        qsort(s, (size_t)got, sizeof(double), cmp_d);
        printf("{\"subject\":\"%s\",\"k\":%ld,\"online_before\":%ld,\"answers\":%ld,\"missing\":%ld,"
               "\"first_us\":%.1f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"all_us\":%.1f,\"waited_us\":%.1f",
               subject, bcast_k, on, got, bcast_k - got, got ? s[0] : -1, pct(s, got, .5), pct(s, got, .9),
               pct(s, got, .99), all ? s[got - 1] : -1.0, (t_end - t_bcast_mono) / 1e3);
        if (cpu_pid)
            printf(",\"broker_cpu_ms\":%.2f,\"broker_cpu_ticks_ms\":%.1f", (c0s >= 0 && c1s >= 0) ? c1s - c0s : -1.0, c1t - c0t);
        printf(",\"ok\":%s}\n", all ? "true" : "false");
        fflush(stdout);
        status = all ? 0 : 1;
    } else {
        FILE *sf = samples_path ? fopen(samples_path, "a") : NULL;
        if (samples_path && !sf) { perror(samples_path); return 1; }
        char t_cmd[256], payload[160];
        snprintf(t_cmd, sizeof t_cmd, "fleet/%s/command", name);
        double *s = malloc(sizeof(double) * (size_t)(n_req + 1));
        long ns = 0, failures = 0;
        int64_t e0 = 0;
        for (long r = -warmup; r < n_req; r++) {
            if (r == 0) e0 = mono_ns();
            pthread_mutex_lock(&mu);
            if (r < 0) snprintf(want_id, sizeof want_id, "w-%d-%ld", (int)getpid(), -r);
            else snprintf(want_id, sizeof want_id, "b-%ld", start_i + r + 1);
            got_want = 0;
            int pl = snprintf(payload, sizeof payload, "{\"command\":\"%s\",\"id\":\"%s\"}", command_word, want_id);
            pthread_mutex_unlock(&mu);
            int64_t t0 = mono_ns();
            int prc = mosquitto_publish(m, NULL, t_cmd, pl, payload, 1, false);
            pthread_mutex_lock(&mu);
            int got = prc == MOSQ_ERR_SUCCESS && wait_until(p_got, t0 + req_timeout_ms * 1000000LL);
            int64_t t1 = mono_ns();
            pthread_mutex_unlock(&mu);
            if (r < 0) continue;
            if (!got) {
                failures++;
                fprintf(stderr, "driver: %s: no answer to %s within %ld ms\n", subject, want_id, req_timeout_ms);
                if (failures >= 10 && failures * 2 > r + 1) { fprintf(stderr, "driver: giving up\n"); n_req = r + 1; break; }
                continue;
            }
            s[ns++] = (t1 - t0) / 1e3;
            if (sf) fprintf(sf, "%.1f\n", (t1 - t0) / 1e3);
        }
        double el = (mono_ns() - e0) / 1e9;
        if (sf) fclose(sf);
        print_rtt(subject, s, ns, failures, el);
        status = failures ? 1 : 0;
    }
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, true);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    return status;
}
