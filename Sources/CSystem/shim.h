#ifndef HATCHLING_CSYSTEM_SHIM_H
#define HATCHLING_CSYSTEM_SHIM_H
// Linux calls Swift cannot make itself: `prctl` is variadic, and Swift imports no variadic C
// function. Each shim is one call, prefixed, with the reason it exists.
#include <sys/prctl.h>
#include <signal.h>

// The worker asks the kernel to send it `signal` when the thread that started it ends (the
// supervisor's spawning thread lives as long as the supervisor): a SIGKILLed supervisor cannot
// leave an orphaned worker online.
static inline int hatchling_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}
#endif
