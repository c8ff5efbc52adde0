/*
 * responder.c - the limit: a C libmosquitto client that answers fleet commands
 * from its on_message callback. Used by scripts/bench.sh as the baseline
 * subject; never part of the test suite.
 *
 *   cc -O2 -o responder responder.c -lmosquitto
 *   responder HOST PORT NAME
 *
 * Subscribes to fleet/<NAME>/command at QoS 1 and answers every message with a
 * small version-report JSON on fleet/<NAME>/response at QoS 1, echoing the
 * request's "id" (found with a strstr scan). On each connect it publishes a
 * retained {"v":1,"state":"online",...} on fleet/<NAME>/status (after the
 * subscription is acknowledged), so "start to online" can be compared with the
 * agent's. Its Last Will is a retained {"v":1,"state":"offline","reason":"lost"}.
 * MQTT 5, TCP_NODELAY. Runs until SIGTERM/SIGINT; it then closes the socket
 * without a DISCONNECT, so the broker publishes the will and no stale
 * "online" stays retained.
 */
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char cmd_topic[256], resp_topic[256], status_topic[256], name[128];
static volatile sig_atomic_t stop_flag = 0;
static void on_signal(int sig) { (void)sig; stop_flag = 1; }

/* Copies the value of "id":"..." into out; returns its length or -1. */
static int extract_id(const char *p, int len, char *out, int cap) {
    const char *end = p + len;
    const char *k = p;
    while ((k = strstr(k, "\"id\"")) != NULL && k < end) {
        const char *v = k + 4;
        while (v < end && (*v == ' ' || *v == '\t' || *v == ':')) v++;
        if (v < end && *v == '"') {
            v++;
            int n = 0;
            while (v < end && *v != '"' && n < cap - 1) out[n++] = *v++;
            out[n] = 0;
            return n;
        }
        k = v;
    }
    out[0] = 0;
    return -1;
}

static void on_connect(struct mosquitto *m, void *ud, int rc) {
    (void)ud;
    if (rc != 0) { fprintf(stderr, "responder: connect refused rc=%d\n", rc); return; }
    mosquitto_subscribe(m, NULL, cmd_topic, 1);
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int qos_count, const int *granted) {
    (void)ud; (void)mid; (void)qos_count; (void)granted;
    char st[256];
    int n = snprintf(st, sizeof st, "{\"v\":1,\"state\":\"online\",\"hatchling\":\"%s\",\"agent\":\"c-responder\"}", name);
    mosquitto_publish(m, NULL, status_topic, n, st, 1, true);
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg) {
    (void)ud;
    char id[80], out[512];
    const char *p = msg->payload ? (const char *)msg->payload : "";
    /* payload is NUL-terminated by libmosquitto */
    extract_id(p, msg->payloadlen, id, sizeof id);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int n = snprintf(out, sizeof out,
        "{\"v\":1,\"id\":\"%s\",\"hatchling\":\"%s\",\"command\":\"version-report\",\"ok\":true,"
        "\"ts\":%lld,\"duration_ms\":0,\"result\":{\"agent\":\"c-responder\",\"openclaw\":null,\"protocol\":1,\"image\":null}}",
        id, name, (long long)ts.tv_sec);
    mosquitto_publish(m, NULL, resp_topic, n, out, 1, false);
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s HOST PORT NAME\n", argv[0]); return 2; }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    snprintf(name, sizeof name, "%s", argv[3]);
    snprintf(cmd_topic, sizeof cmd_topic, "fleet/%s/command", name);
    snprintf(resp_topic, sizeof resp_topic, "fleet/%s/response", name);
    snprintf(status_topic, sizeof status_topic, "fleet/%s/status", name);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    mosquitto_lib_init();
    char cid[160];
    snprintf(cid, sizeof cid, "c-responder-%s", name);
    struct mosquitto *m = mosquitto_new(cid, true, NULL);
    if (!m) { perror("mosquitto_new"); return 1; }
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_subscribe_callback_set(m, on_subscribe);
    mosquitto_message_callback_set(m, on_message);
    mosquitto_reconnect_delay_set(m, 1, 30, true);
    char will[256];
    int wl = snprintf(will, sizeof will, "{\"v\":1,\"state\":\"offline\",\"reason\":\"lost\",\"hatchling\":\"%s\"}", name);
    mosquitto_will_set(m, status_topic, wl, will, 1, true);
    /* Loop thread first, then connect: in the other order, with the broker down at start, the client
       never connected (libmosquitto 2.0.11, 2 runs of 2; docs/benchmarks.md). */
    if (mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) { fprintf(stderr, "responder: loop_start failed\n"); return 1; }
    int rc = mosquitto_connect_async(m, host, port, 30);
    if (rc != MOSQ_ERR_SUCCESS) fprintf(stderr, "responder: connect_async: %s (will retry)\n", mosquitto_strerror(rc));
    while (!stop_flag) pause();
    /* No mosquitto_disconnect: the broker sees the socket close and sends the will. */
    mosquitto_loop_stop(m, true);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    return 0;
}
