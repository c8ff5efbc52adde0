/*
 * fleet-sim.c - a simulated fleet for scripts/bench-fleet.sh: N hatchlings on
 * ONE libmosquitto connection, so the hub tool (fleetctl) can be measured at
 * 1,000 to 50,000 hatchlings on one machine. Never part of the test suite.
 *
 *   cc -O2 -Wall -o fleet-sim fleet-sim.c -lmosquitto -lpthread
 *
 * Hatchlings are named PREFIX + a zero-padded number (sim-00001 .. sim-NNNNN,
 * at least 5 digits). Each one's boot id is derived from its name and --salt,
 * so seed and beat agree without sharing state. Payloads follow
 * docs/protocol.md and the golden files (Tests/FleetProtocolTests/Golden).
 *
 * Modes (each prints JSON lines on stdout; diagnostics go to stderr; exit 0
 * when every publish was acknowledged with a success code, 1 otherwise, 2 on
 * a usage error, 3 when the broker could not be reached):
 *
 *   fleet-sim seed [common]
 *       Retained QoS 1 online status and heartbeat for each of the N
 *       hatchlings (heartbeat ts = now, interval_s = --interval, MQTT 5
 *       message expiry 3 x interval as the agent sets it). Pipelined: at most
 *       --window publishes unacknowledged. Waits for every PUBACK, prints
 *       {"mode":"seed","n":..,"published":..,"acked":..,"refused":..,"seconds":..}.
 *
 *   fleet-sim answer [common] [--count K]
 *       Subscribes (MQTT 5, QoS 1) to the broadcast topic, prints
 *       {"event":"ready"}, and for each command received publishes N responses
 *       (QoS 1, one per hatchling, on <root>/<name>/response) carrying the
 *       request's id and, when the request had one, its correlation data. A
 *       redelivery of the same id is not answered twice. After the last
 *       PUBACK of a broadcast it prints {"event":"answered","id":..,
 *       "correlated":..,"n":..,"received_ns":..,"first_publish_ns":..,
 *       "last_publish_ns":..,"last_puback_ns":..,"refused":..}, times on
 *       CLOCK_REALTIME in ns: last_publish_ns is when the last response was
 *       handed to libmosquitto, last_puback_ns when the broker acknowledged
 *       the last one (it has routed it by then). Ends after K broadcasts
 *       (default: on SIGTERM/SIGINT or --timeout).
 *       Answers version-report and health-check as an agent would (shapes of
 *       the golden files); other commands get an unknown-command error.
 *
 *   fleet-sim beat [common] --rate R --duration S [--seq-start Q]
 *       Live heartbeats: R retained heartbeats a second (default N/30, what N
 *       agents at a 30 s interval send), round robin over the N hatchlings,
 *       seq growing from Q (default 2) each round, for S seconds. Prints
 *       {"mode":"beat","published":..,"acked":..,"refused":..,"seconds":..,"rate_per_s":..}.
 *
 *   fleet-sim clear [common]
 *       Empty retained publishes on status and heartbeat of the N hatchlings
 *       (the broker forgets them). Same output and window as seed.
 *
 * common: --host H (127.0.0.1) --port P (1883) -n N (1000) --prefix P (sim-)
 *         --root R (fleet) --broadcast-topic T (zephyr/broadcast)
 *         --window W (1000, publishes in flight) --interval S (30)
 *         --salt X (boot ids; default 0) --timeout S (overall limit, 3600)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------- settings ---------- */
static const char *host = "127.0.0.1", *prefix = "sim-", *root = "fleet", *bcast_topic = "zephyr/broadcast";
static int port = 1883, n_hatch = 1000, window_max = 1000, interval_s = 30, count_max = 0, digits = 5;
static double timeout_s = 3600, rate = -1, duration_s = 10;
static uint64_t salt = 0, seq_start = 2;

/* ---------- time ---------- */
static int64_t now_ns(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
/* RFC 3339, UTC, milliseconds: 2026-11-29T05:00:00.120Z (24 characters) */
static void rfc3339_now(char out[64]) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L);
}

/* ---------- names and ids ---------- */
static void hatch_name(int i, char *out, size_t cap) { snprintf(out, cap, "%s%0*d", prefix, digits, i); }
static uint64_t mix(uint64_t x) { /* splitmix64 */
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
static void boot_id(const char *name, char out[33]) {
    uint64_t h = 1469598103934665603ULL ^ salt; /* FNV-1a of the name, then two mixes */
    for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)mix(h), (unsigned long long)mix(h ^ 0x5bd1e995ULL));
}

/* ---------- payloads (sorted keys, as the agent writes them) ---------- */
static int status_payload(char *out, size_t cap, const char *bid) {
    char ts[64];
    rfc3339_now(ts);
    return snprintf(out, cap,
        "{\"agent_version\":\"1.0.0\",\"boot_id\":\"%s\",\"commands\":[\"health-check\",\"version-report\","
        "\"config-reload\",\"status-report\"],\"heartbeat_interval_s\":%d,\"protocol\":1,\"state\":\"online\","
        "\"ts\":\"%s\",\"v\":1}", bid, interval_s, ts);
}
static int heartbeat_payload(char *out, size_t cap, int i, const char *name, const char *bid, uint64_t seq) {
    char ts[64];
    rfc3339_now(ts);
    /* Figures vary with i, so the exposition is not one value repeated. */
    unsigned long long mem = 60000000ULL + (unsigned long long)(i % 997) * 131072ULL;
    unsigned long long working_set = mem / 4 * 3; /* usage less some inactive page cache */
    unsigned long long free_b = 40000000000ULL + (unsigned long long)(i % 1009) * 10000000ULL;
    double cpu = (double)(i % 400) / 10.0, load = (double)(i % 300) / 100.0;
    return snprintf(out, cap,
        "{\"agent\":{\"open_fds\":13,\"rss_bytes\":5242880,\"threads\":5,\"uptime_s\":3600,\"version\":\"1.0.0\"},"
        "\"boot_id\":\"%s\",\"container\":{\"cpu_limit_cores\":null,\"cpu_pct\":%.1f,\"mem_current_bytes\":%llu,"
        "\"mem_limit_bytes\":536870912,\"mem_working_set_bytes\":%llu,\"net_rx_bytes\":1048576,\"net_tx_bytes\":524288,\"oom_kills\":0,\"uptime_s\":3600.5},"
        "\"disk\":{\"free_bytes\":%llu,\"path\":\"/home/openclaw/.openclaw\",\"total_bytes\":107374182400},"
        "\"gateway\":{\"age_s\":12.5,\"http_status\":200,\"latency_ms\":4,\"ok\":true},\"hatchling\":\"%s\","
        "\"health\":\"healthy\",\"host\":{\"cpu_pct\":3.1,\"load\":[%.2f,0.3,0.25],\"mem_available_bytes\":9663676416,"
        "\"mem_total_bytes\":16707350528,\"uptime_s\":912345.2},\"interval_s\":%d,\"seq\":%llu,\"ts\":\"%s\",\"v\":1}",
        bid, cpu, mem, working_set, free_b, name, load, interval_s, (unsigned long long)seq, ts);
}

/* ---------- the connection and its in-flight window ---------- */
static struct mosquitto *mosq;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int connected = 0, connect_rc = -1, subscribed = 0, gone = 0;
static long inflight = 0, acked = 0, refused = 0, published = 0;
static int64_t last_ack_ns = 0;
static volatile sig_atomic_t stop_flag = 0;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

/* jobs for answer mode: filled by the loop thread, taken by the main thread */
#define JOBS 64
struct job { char id[80]; char command[40]; unsigned char corr[256]; int corr_len; int has_corr; int64_t received_ns; };
static struct job jobs[JOBS];
static int job_head = 0, job_tail = 0;
static char last_id[80] = "";

static void on_connect(struct mosquitto *m, void *ud, int rc, int flags, const mosquitto_property *props) {
    (void)m; (void)ud; (void)flags; (void)props;
    pthread_mutex_lock(&mu);
    connect_rc = rc;
    if (rc == 0) connected = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}
static void on_disconnect(struct mosquitto *m, void *ud, int rc, const mosquitto_property *props) {
    (void)m; (void)ud; (void)props;
    pthread_mutex_lock(&mu);
    if (!stop_flag && rc != 0) fprintf(stderr, "fleet-sim: disconnected: %s\n", mosquitto_reason_string(rc));
    gone = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}
static void on_publish(struct mosquitto *m, void *ud, int mid, int reason, const mosquitto_property *props) {
    (void)m; (void)ud; (void)mid; (void)props;
    int64_t t = now_ns(CLOCK_REALTIME);
    pthread_mutex_lock(&mu);
    inflight--;
    acked++;
    if (reason >= 128) refused++;
    last_ack_ns = t;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}
static void on_subscribe(struct mosquitto *m, void *ud, int mid, int qc, const int *granted, const mosquitto_property *p) {
    (void)m; (void)ud; (void)mid; (void)p;
    pthread_mutex_lock(&mu);
    subscribed = (qc > 0 && granted[0] < 128) ? 1 : -1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* Copies the string value of "key":"..." (a flat scan, enough for the hub's commands). */
static int json_string(const char *p, int len, const char *key, char *out, int cap) {
    char pat[48];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *end = p + len, *k = p;
    size_t pl = strlen(pat);
    out[0] = 0;
    while ((k = memmem(k, (size_t)(end - k), pat, pl)) != NULL) {
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
        k += pl;
    }
    return -1;
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg, const mosquitto_property *props) {
    (void)m; (void)ud;
    struct job j;
    memset(&j, 0, sizeof j);
    j.received_ns = now_ns(CLOCK_REALTIME);
    const char *p = msg->payload ? (const char *)msg->payload : "";
    int len = msg->payloadlen;
    if (json_string(p, len, "command", j.command, sizeof j.command) < 0) {
        /* a plain-text word, spaces around it allowed; no id */
        int a = 0, b = len;
        while (a < b && (p[a] == ' ' || p[a] == '\t' || p[a] == '\n' || p[a] == '\r')) a++;
        while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t' || p[b - 1] == '\n' || p[b - 1] == '\r')) b--;
        snprintf(j.command, sizeof j.command, "%.*s", b - a, p + a);
    }
    json_string(p, len, "id", j.id, sizeof j.id);
    void *corr = NULL;
    uint16_t corr_len = 0;
    if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &corr_len, false) && corr) {
        if (corr_len <= sizeof j.corr) {
            memcpy(j.corr, corr, corr_len);
            j.corr_len = corr_len;
            j.has_corr = 1;
        }
        free(corr);
    }
    pthread_mutex_lock(&mu);
    /* a QoS 1 redelivery (same id) is answered once */
    if (j.id[0] && strcmp(j.id, last_id) == 0) { pthread_mutex_unlock(&mu); return; }
    snprintf(last_id, sizeof last_id, "%s", j.id);
    if ((job_tail + 1) % JOBS == job_head) fprintf(stderr, "fleet-sim: too many broadcasts queued; one dropped\n");
    else { jobs[job_tail] = j; job_tail = (job_tail + 1) % JOBS; }
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* Waits until fewer than the window are in flight, then publishes; false when the connection is gone. */
static bool publish_windowed(const char *topic, int len, const void *payload, bool retain, const mosquitto_property *props) {
    pthread_mutex_lock(&mu);
    while (inflight >= window_max && !gone) pthread_cond_wait(&cv, &mu);
    if (gone) { pthread_mutex_unlock(&mu); return false; }
    inflight++;
    published++;
    pthread_mutex_unlock(&mu);
    int rc = mosquitto_publish_v5(mosq, NULL, topic, len, payload, 1, retain, props);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "fleet-sim: publish to %s: %s\n", topic, mosquitto_strerror(rc));
        pthread_mutex_lock(&mu);
        inflight--;
        published--;
        refused++;
        pthread_mutex_unlock(&mu);
        return rc != MOSQ_ERR_NO_CONN && rc != MOSQ_ERR_CONN_LOST;
    }
    return true;
}
/* Waits until nothing is in flight (or the deadline); true when all were acknowledged. */
static bool drain_window(int64_t deadline_mono_ns) {
    pthread_mutex_lock(&mu);
    while (inflight > 0 && !gone) {
        int64_t left = deadline_mono_ns - now_ns(CLOCK_MONOTONIC);
        if (left <= 0) break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ms = left / 1000000 < 200 ? left / 1000000 + 1 : 200;
        until.tv_nsec += ms * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&cv, &mu, &until);
    }
    bool ok = inflight == 0;
    pthread_mutex_unlock(&mu);
    return ok;
}

static void usage(void) {
    fprintf(stderr,
        "usage: fleet-sim seed|answer|beat|clear [--host H] [--port P] [-n N] [--prefix P] [--root R]\n"
        "         [--broadcast-topic T] [--window W] [--interval S] [--salt X] [--timeout S]\n"
        "         [--count K (answer)] [--rate R] [--duration S] [--seq-start Q] (beat)\n");
}

int main(int argc, char **argv) {
    const char *mode = NULL; /* the one word that is not an option, anywhere */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (usage(), exit(2), (char *)0))
        if (!mode && (!strcmp(a, "seed") || !strcmp(a, "answer") || !strcmp(a, "beat") || !strcmp(a, "clear"))) mode = a;
        else if (!strcmp(a, "--host")) host = NEXT();
        else if (!strcmp(a, "--port")) port = atoi(NEXT());
        else if (!strcmp(a, "-n")) n_hatch = atoi(NEXT());
        else if (!strcmp(a, "--prefix")) prefix = NEXT();
        else if (!strcmp(a, "--root")) root = NEXT();
        else if (!strcmp(a, "--broadcast-topic")) bcast_topic = NEXT();
        else if (!strcmp(a, "--window")) window_max = atoi(NEXT());
        else if (!strcmp(a, "--interval")) interval_s = atoi(NEXT());
        else if (!strcmp(a, "--salt")) salt = strtoull(NEXT(), NULL, 0);
        else if (!strcmp(a, "--timeout")) timeout_s = atof(NEXT());
        else if (!strcmp(a, "--count")) count_max = atoi(NEXT());
        else if (!strcmp(a, "--rate")) rate = atof(NEXT());
        else if (!strcmp(a, "--duration")) duration_s = atof(NEXT());
        else if (!strcmp(a, "--seq-start")) seq_start = strtoull(NEXT(), NULL, 10);
        else { fprintf(stderr, "fleet-sim: unknown argument %s\n", a); usage(); return 2; }
#undef NEXT
    }
    if (!mode) { usage(); return 2; }
    if (n_hatch < 1 || window_max < 1 || interval_s < 1 || port < 1 || timeout_s <= 0) { usage(); return 2; }
    for (int v = n_hatch; v >= 100000; v /= 10) digits++;
    if (rate < 0) rate = (double)n_hatch / 30.0;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    const int64_t deadline = now_ns(CLOCK_MONOTONIC) + (int64_t)(timeout_s * 1e9);

    mosquitto_lib_init();
    char cid[64];
    snprintf(cid, sizeof cid, "fleet-sim-%s-%d", mode, (int)getpid());
    mosq = mosquitto_new(cid, true, NULL);
    if (!mosq) { perror("mosquitto_new"); return 1; }
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
    /* libmosquitto's own limit: as many as our window (the broker's receive maximum caps it further) */
    mosquitto_int_option(mosq, MOSQ_OPT_SEND_MAXIMUM, window_max > 65535 ? 65535 : window_max);
    mosquitto_connect_v5_callback_set(mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(mosq, on_disconnect);
    mosquitto_publish_v5_callback_set(mosq, on_publish);
    mosquitto_subscribe_v5_callback_set(mosq, on_subscribe);
    mosquitto_message_v5_callback_set(mosq, on_message);
    /* loop thread first, then connect (as Benchmarks/c/responder.c does) */
    if (mosquitto_loop_start(mosq) != MOSQ_ERR_SUCCESS) { fprintf(stderr, "fleet-sim: loop_start failed\n"); return 1; }
    int rc = mosquitto_connect_async(mosq, host, port, 60);
    if (rc != MOSQ_ERR_SUCCESS) { fprintf(stderr, "fleet-sim: connect %s:%d: %s\n", host, port, mosquitto_strerror(rc)); return 3; }
    /* a CONNACK within 10 s (or the overall timeout, when shorter) */
    const int64_t connect_deadline = now_ns(CLOCK_MONOTONIC) + (int64_t)((timeout_s < 10 ? timeout_s : 10) * 1e9);
    pthread_mutex_lock(&mu);
    while (!connected && connect_rc <= 0 && !stop_flag && now_ns(CLOCK_MONOTONIC) < connect_deadline) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&cv, &mu, &until);
    }
    int ok_connect = connected;
    pthread_mutex_unlock(&mu);
    if (!ok_connect) {
        fprintf(stderr, "fleet-sim: no connection to %s:%d (rc %d)\n", host, port, connect_rc);
        mosquitto_loop_stop(mosq, true);
        return 3;
    }

    int status = 0;
    char topic[256], name[128], bid[33], payload[2048];
    int64_t t0 = now_ns(CLOCK_MONOTONIC);

    if (!strcmp(mode, "seed") || !strcmp(mode, "clear")) {
        bool seed = !strcmp(mode, "seed");
        mosquitto_property *hb_props = NULL;
        if (seed) mosquitto_property_add_int32(&hb_props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, (uint32_t)interval_s * 3);
        for (int i = 1; i <= n_hatch && !stop_flag; i++) {
            hatch_name(i, name, sizeof name);
            boot_id(name, bid);
            int len = seed ? status_payload(payload, sizeof payload, bid) : 0;
            snprintf(topic, sizeof topic, "%s/%s/status", root, name);
            if (!publish_windowed(topic, len, payload, true, NULL)) break;
            len = seed ? heartbeat_payload(payload, sizeof payload, i, name, bid, 1) : 0;
            snprintf(topic, sizeof topic, "%s/%s/heartbeat", root, name);
            if (!publish_windowed(topic, len, payload, true, hb_props)) break;
        }
        bool drained = drain_window(deadline);
        mosquitto_property_free_all(&hb_props);
        double secs = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
        pthread_mutex_lock(&mu);
        printf("{\"mode\":\"%s\",\"n\":%d,\"published\":%ld,\"acked\":%ld,\"refused\":%ld,\"seconds\":%.3f}\n",
               mode, n_hatch, published, acked, refused, secs);
        status = (drained && refused == 0 && published == 2L * n_hatch) ? 0 : 1;
        pthread_mutex_unlock(&mu);
    } else if (!strcmp(mode, "beat")) {
        int64_t end = t0 + (int64_t)(duration_s * 1e9);
        double per_ns = rate / 1e9;
        long sent = 0;
        int i = 0;
        uint64_t seq = seq_start;
        mosquitto_property *hb_props = NULL;
        mosquitto_property_add_int32(&hb_props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, (uint32_t)interval_s * 3);
        while (!stop_flag && rate > 0) {
            int64_t t = now_ns(CLOCK_MONOTONIC);
            if (t >= end || t >= deadline) break;
            long due = (long)((double)(t - t0) * per_ns);
            if (sent >= due) {
                struct timespec nap = {0, 2000000}; /* 2 ms */
                nanosleep(&nap, NULL);
                continue;
            }
            while (sent < due && !stop_flag) {
                i = i % n_hatch + 1;
                if (i == 1 && sent > 0) seq++;
                hatch_name(i, name, sizeof name);
                boot_id(name, bid);
                int len = heartbeat_payload(payload, sizeof payload, i, name, bid, seq);
                snprintf(topic, sizeof topic, "%s/%s/heartbeat", root, name);
                if (!publish_windowed(topic, len, payload, true, hb_props)) { stop_flag = 1; break; }
                sent++;
            }
        }
        bool drained = drain_window(deadline);
        mosquitto_property_free_all(&hb_props);
        double secs = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
        pthread_mutex_lock(&mu);
        printf("{\"mode\":\"beat\",\"n\":%d,\"published\":%ld,\"acked\":%ld,\"refused\":%ld,\"seconds\":%.3f,\"rate_per_s\":%.1f}\n",
               n_hatch, published, acked, refused, secs, secs > 0 ? (double)published / secs : 0.0);
        status = (drained && refused == 0) ? 0 : 1;
        pthread_mutex_unlock(&mu);
    } else { /* answer */
        rc = mosquitto_subscribe_v5(mosq, NULL, bcast_topic, 1, 0, NULL);
        if (rc != MOSQ_ERR_SUCCESS) { fprintf(stderr, "fleet-sim: subscribe: %s\n", mosquitto_strerror(rc)); return 1; }
        pthread_mutex_lock(&mu);
        while (subscribed == 0 && !gone && !stop_flag && now_ns(CLOCK_MONOTONIC) < deadline) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&cv, &mu, &until);
        }
        int sub = subscribed;
        pthread_mutex_unlock(&mu);
        if (sub != 1) { fprintf(stderr, "fleet-sim: the subscription to %s was not granted\n", bcast_topic); return 1; }
        printf("{\"event\":\"ready\"}\n");
        fflush(stdout);
        int answered = 0;
        while (!stop_flag && (count_max == 0 || answered < count_max)) {
            struct job j;
            pthread_mutex_lock(&mu);
            while (job_head == job_tail && !gone && !stop_flag && now_ns(CLOCK_MONOTONIC) < deadline) {
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_nsec += 100000000L;
                until.tv_sec += until.tv_nsec / 1000000000L;
                until.tv_nsec %= 1000000000L;
                pthread_cond_timedwait(&cv, &mu, &until);
            }
            if (job_head == job_tail) { pthread_mutex_unlock(&mu); break; }
            j = jobs[job_head];
            job_head = (job_head + 1) % JOBS;
            long refused_before = refused;
            pthread_mutex_unlock(&mu);

            mosquitto_property *props = NULL;
            if (j.has_corr) mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, j.corr, (uint16_t)j.corr_len);
            char id_part[128] = "";
            if (j.id[0]) snprintf(id_part, sizeof id_part, "\"id\":\"%s\",", j.id);
            int64_t first_pub = 0, last_pub = 0;
            for (int i = 1; i <= n_hatch && !stop_flag; i++) {
                char ts[64];
                hatch_name(i, name, sizeof name);
                rfc3339_now(ts);
                int len;
                if (!strcmp(j.command, "version-report")) {
                    len = snprintf(payload, sizeof payload,
                        "{\"command\":\"version-report\",\"duration_ms\":0,\"hatchling\":\"%s\",%s\"ok\":true,"
                        "\"result\":{\"agent\":\"1.0.0\",\"image\":null,\"openclaw\":\"2026.1.5\",\"protocol\":1},"
                        "\"ts\":\"%s\",\"v\":1}", name, id_part, ts);
                } else if (!strcmp(j.command, "health-check")) {
                    len = snprintf(payload, sizeof payload,
                        "{\"command\":\"health-check\",\"duration_ms\":3,\"hatchling\":\"%s\",%s\"ok\":true,"
                        "\"result\":{\"checks\":{\"bus\":{\"ok\":true,\"protocol\":\"5\"},\"disk\":{\"free_bytes\":53687091200,"
                        "\"free_pct\":50,\"ok\":true,\"path\":\"/home/openclaw/.openclaw\"},\"gateway\":{\"http_status\":200,"
                        "\"latency_ms\":4,\"ok\":true},\"memory\":{\"limit_bytes\":1073741824,\"ok\":true,\"scope\":\"container\","
                        "\"used_bytes\":66367641,\"used_pct\":6.2}},\"status\":\"healthy\"},\"ts\":\"%s\",\"v\":1}", name, id_part, ts);
                } else {
                    len = snprintf(payload, sizeof payload,
                        "{\"command\":null,\"duration_ms\":0,\"error\":{\"code\":\"unknown-command\",\"message\":"
                        "\"fleet-sim answers version-report and health-check only\"},\"hatchling\":\"%s\",%s\"ok\":false,"
                        "\"ts\":\"%s\",\"v\":1}", name, id_part, ts);
                }
                snprintf(topic, sizeof topic, "%s/%s/response", root, name);
                if (!publish_windowed(topic, len, payload, false, props)) { stop_flag = 1; break; }
                last_pub = now_ns(CLOCK_REALTIME);
                if (i == 1) first_pub = last_pub;
            }
            mosquitto_property_free_all(&props);
            bool drained = drain_window(deadline);
            pthread_mutex_lock(&mu);
            long bad = refused - refused_before;
            int64_t last_ack = last_ack_ns;
            pthread_mutex_unlock(&mu);
            answered++;
            printf("{\"event\":\"answered\",\"id\":\"%s\",\"command\":\"%s\",\"correlated\":%s,\"n\":%d,\"received_ns\":%lld,"
                   "\"first_publish_ns\":%lld,\"last_publish_ns\":%lld,\"last_puback_ns\":%lld,\"refused\":%ld,\"drained\":%s}\n",
                   j.id, j.command, j.has_corr ? "true" : "false", n_hatch, (long long)j.received_ns, (long long)first_pub,
                   (long long)last_pub, (long long)last_ack, bad, drained ? "true" : "false");
            fflush(stdout);
            if (!drained || bad) status = 1;
        }
        if (count_max > 0 && answered < count_max) status = 1;
    }

    fflush(stdout);
    mosquitto_disconnect_v5(mosq, 0, NULL);
    mosquitto_loop_stop(mosq, false);
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();
    return status;
}
