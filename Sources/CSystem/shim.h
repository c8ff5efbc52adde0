#ifndef HATCHLING_CSYSTEM_SHIM_H
#define HATCHLING_CSYSTEM_SHIM_H
// Linux calls that Swift's view of glibc leaves out, for the HatchlingSystem target (the agent's
// other modules reach them only through it): `prctl` is variadic, and Swift imports no variadic C
// function; signalfd, eventfd, accept4 and pipe2 are in headers the Glibc module does not include.
// Each shim is one call, prefixed, with the reason it exists.
#include <sys/signalfd.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <signal.h>

// The worker asks the kernel to send it `signal` when the thread that started it ends (the
// supervisor forks and spawns from its main thread, which lives as long as the supervisor): a
// SIGKILLed supervisor cannot leave an orphaned worker online.
static inline int hatchling_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}

// Signals as bytes on a pipe: the handler writes the signal's number to `fd` (set before any
// handler is installed), and a thread of the agent reads it. A handler installed with sigaction
// is in place when the call returns; libdispatch's signal sources install theirs later, from
// their manager thread, and a signal that comes in between is lost (it was ignored).
// write() is async-signal-safe; errno is kept for the interrupted code.
#include <errno.h>
#include <unistd.h>
static int hatchling_signal_pipe_fd = -1;
static void hatchling_signal_to_pipe(int signal) {
    int saved = errno;
    unsigned char byte = (unsigned char)signal;
    if (hatchling_signal_pipe_fd >= 0) { ssize_t ignored = write(hatchling_signal_pipe_fd, &byte, 1); (void)ignored; }
    errno = saved;
}
static inline int hatchling_catch_signal_to_pipe(int signal, int fd) {
    hatchling_signal_pipe_fd = fd;
    struct sigaction action;
    action.sa_handler = hatchling_signal_to_pipe;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return sigaction(signal, &action, 0);
}

// accept4 and pipe2 are GNU extensions that Swift's view of glibc leaves out; the agent's local
// socket needs their flags set in the same call (no window in which a spawned child inherits the
// descriptor).
#include <sys/socket.h>
extern int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
extern int pipe2(int fds[2], int flags);
static inline int hatchling_accept4(int fd, int flags) { return accept4(fd, 0, 0, flags); }
static inline int hatchling_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

// A forked worker starts clean: the signals its supervisor caught get their default action back
// (SIG_DFL is a cast macro, which Swift does not import), the signal pipe's descriptor is forgotten
// (the handler writes to nothing, should a signal's action have been missed; called from the Swift
// file that installs the handler, as the two are static here: each file has its own), and every
// descriptor above 2 is closed (glibc's closefrom: close_range, or a walk of /proc/self/fd where
// that call is refused).
static inline int hatchling_default_signal(int signal) {
    struct sigaction action;
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    return sigaction(signal, &action, 0);
}
static inline void hatchling_forget_signal_pipe(void) { hatchling_signal_pipe_fd = -1; }
static inline void hatchling_close_from(int lowest) { closefrom(lowest); }
#endif
