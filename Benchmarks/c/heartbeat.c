// The floor of one heartbeat, in C (scripts/bench.sh; not part of the test suite).
//
// Does per beat the kernel work a heartbeat of the agent needs, and nothing else: on the network
// thread, pread of the same kernel files (kept open, as the agent keeps them), a count of
// /proc/self/fd (kept open and rewound), statvfs of the data directory, and one retained QoS 1
// publish of a payload as large as the agent's heartbeat; on a probe thread of its own, one TCP
// connect to the gateway port (the agent's probe, against a closed port in the bench). No parsing
// and no JSON: what is left of the agent's cost above this is the agent's own code.
//
// usage: heartbeat HOST PORT NAME INTERVAL_S PAYLOAD_BYTES DATA_DIR PROBE_PORT [FILE...]
//   INTERVAL_S 0: connect and stay idle (the loop wakes once a second, like the agent's).
// The payload is {"seq":N,"pad":"xx..."}, retained on fleet/NAME/heartbeat, so the bench reads the
// number of beats as it does the agent's.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static int probe_port;
static double interval;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void *prober(void *unused) {
    (void)unused;
    struct timespec pause = {(time_t)interval, (long)((interval - (time_t)interval) * 1e9)};
    for (;;) {
        nanosleep(&pause, NULL);
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(probe_port)};
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connect(s, (struct sockaddr *)&address, sizeof address);
        close(s);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 8) {
        fprintf(stderr, "usage: %s HOST PORT NAME INTERVAL_S PAYLOAD_BYTES DATA_DIR PROBE_PORT [FILE...]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1], *name = argv[3], *data_dir = argv[6];
    int port = atoi(argv[2]);
    interval = atof(argv[4]);
    int payload_bytes = atoi(argv[5]);
    probe_port = atoi(argv[7]);
    int file_count = argc - 8;
    int *fds = calloc(file_count + 1, sizeof(int));
    for (int i = 0; i < file_count; i++) fds[i] = open(argv[8 + i], O_RDONLY | O_CLOEXEC);
    DIR *fd_directory = opendir("/proc/self/fd");
    static char buffer[256 * 1024];
    if (payload_bytes < 128) payload_bytes = 128; /* room for the seq and the figures */
    char *payload = malloc(payload_bytes + 1);
    char topic[256];
    snprintf(topic, sizeof topic, "fleet/%s/heartbeat", name);

    mosquitto_lib_init();
    char id[128];
    snprintf(id, sizeof id, "bench-floor-%s", name);
    struct mosquitto *m = mosquitto_new(id, true, NULL);
    if (!m || mosquitto_connect(m, host, port, 30) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "heartbeat: cannot connect to %s:%d\n", host, port);
        return 1;
    }
    if (interval > 0) {
        pthread_t thread;
        pthread_create(&thread, NULL, prober, NULL);
    }
    unsigned long seq = 0;
    double next = now_s() + (interval > 0 ? interval : 1e12);
    for (;;) {
        double wait = next - now_s();
        if (wait <= 0) {
            next += interval;
            long total = 0;
            for (int i = 0; i < file_count; i++)
                if (fds[i] >= 0) total += pread(fds[i], buffer, sizeof buffer, 0);
            /* kept open and rewound, as the agent keeps it */
            int entries = 0;
            if (fd_directory) {
                rewinddir(fd_directory);
                while (readdir(fd_directory)) entries++;
            }
            struct statvfs space = {0};
            statvfs(data_dir, &space);
            int n = snprintf(payload, payload_bytes + 1, "{\"seq\":%lu,\"pad\":\"%ld %d %lu", ++seq, total, entries,
                             (unsigned long)space.f_bavail);
            if (n < 0) n = 0;
            if (n > payload_bytes - 2) n = payload_bytes - 2; /* truncated: the closing bytes still fit */
            memset(payload + n, 'x', payload_bytes - n - 2);
            memcpy(payload + payload_bytes - 2, "\"}", 2);
            mosquitto_publish(m, NULL, topic, payload_bytes, payload, 1, true);
            wait = 0;
        }
        int timeout_ms = wait > 1 ? 1000 : (int)(wait * 1000);
        int rc = mosquitto_loop(m, timeout_ms, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "heartbeat: loop: %s\n", mosquitto_strerror(rc));
            sleep(1);
            mosquitto_reconnect(m);
        }
    }
}
