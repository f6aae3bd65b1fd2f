// The bridge between libFuzzer and a .NET fuzz target run by SharpFuzz's Fuzzer.LibFuzzer.Run (issue 15 §1).
//
// libFuzzer mutates inputs in this process; the target runs in a child .NET process, started once, that executes the
// instrumented engine for each input. They share one System V segment: SharpFuzz's 64 KiB edge map, then the input.
// The child reads each input's length on fd 198 and answers a status on fd 199 (0: no finding), as SharpFuzz expects.
// After each input the child's edge map is copied into libFuzzer's extra counters, so libFuzzer's coverage guidance
// works on the .NET code's edges. libFuzzer's -timeout covers hangs (this process waits on the child while the alarm
// runs). At exit this prints what libFuzzer cannot see: distinct edges of the .NET code, and the child's peak memory.
//
// Build: clang-14 -O2 -fsanitize=fuzzer tests/fuzz/libfuzzer-dotnet.c -o libfuzzer-dotnet
// Run:   NVMEPS_FUZZ_COMMAND="dotnet NvmePS.Fuzz.dll run tcp-pdu" ./libfuzzer-dotnet [libFuzzer flags] corpus/
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

enum { EDGE_MAP = 1 << 16, MAX_INPUT = 1 << 20, CONTROL_FD = 198, STATUS_FD = 199 };

// libFuzzer treats every byte of this section as a coverage counter. Not static, and kept: the program itself never
// reads it, so a static array's stores (and the section with them) would be optimised away.
__attribute__((used, section("__libfuzzer_extra_counters"))) uint8_t edge_counters[EDGE_MAP];

static uint8_t *shared;        // edge map, then the input
static int shm_id = -1;
static int control_fd = -1;    // lengths to the child
static int status_fd = -1;     // statuses from the child
static pid_t child;
static uint8_t edges_seen[EDGE_MAP];
static unsigned long long inputs_run;

static void fail(const char *what)
{
    fprintf(stderr, "libfuzzer-dotnet: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int read_all(int fd, void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = read(fd, (char *)buf + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = write(fd, (const char *)buf + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

// The child's peak resident memory (VmHWM), in KiB, or -1.
static long child_peak_kib(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)child);
    FILE *f = fopen(path, "r");
    long kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static void report(void)
{
    unsigned edges = 0;
    for (int i = 0; i < EDGE_MAP; i++)
        edges += edges_seen[i] != 0;
    long peak = child_peak_kib();
    fprintf(stderr, "NVMEPS-FUZZ inputs=%llu edges=%u child_peak_rss_kib=%ld\n", inputs_run, edges, peak);
    if (child > 0)
        kill(child, SIGKILL);
    if (shm_id >= 0)
        shmctl(shm_id, IPC_RMID, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *command = getenv("NVMEPS_FUZZ_COMMAND");
    if (!command || !*command) {
        fprintf(stderr, "libfuzzer-dotnet: set NVMEPS_FUZZ_COMMAND to the fuzz target's command line\n");
        exit(1);
    }

    int control[2], status[2];
    if (pipe(control) || pipe(status))
        fail("pipe");
    shm_id = shmget(IPC_PRIVATE, EDGE_MAP + MAX_INPUT, IPC_CREAT | IPC_EXCL | 0600);
    if (shm_id < 0)
        fail("shmget");
    shared = shmat(shm_id, NULL, 0);
    if (shared == (void *)-1)
        fail("shmat");
    child = fork();
    if (child < 0)
        fail("fork");
    if (child == 0) {
        if (dup2(control[0], CONTROL_FD) < 0 || dup2(status[1], STATUS_FD) < 0)
            fail("dup2");
        close(control[0]);
        close(control[1]);
        close(status[0]);
        close(status[1]);
        char id[16];
        snprintf(id, sizeof id, "%d", shm_id);
        // SharpFuzz finds the segment and the pipes through these.
        if (setenv("__LIBFUZZER_SHM_ID", id, 1) || setenv("__LIBFUZZER_CONTROL_PIPE_ID", "198", 1) ||
            setenv("__LIBFUZZER_STATUS_PIPE_ID", "199", 1))
            fail("setenv");
        // exec in the shell too, so the child measured at exit is the .NET process, not a shell waiting for it.
        size_t n = strlen(command) + 6;
        char *line = malloc(n);
        if (!line)
            fail("malloc");
        snprintf(line, n, "exec %s", command);
        execl("/bin/sh", "sh", "-c", line, (char *)NULL);
        fail("exec");
    }
    close(control[0]);
    close(status[1]);
    control_fd = control[1];
    status_fd = status[0];
    atexit(report);

    int32_t ready;
    if (read_all(status_fd, &ready, sizeof ready) < 0) {
        fprintf(stderr, "libfuzzer-dotnet: the target did not start (%s)\n", command);
        exit(1);
    }
    // Both processes are attached: the segment now goes when they detach, even if libFuzzer's timeout handler ends
    // this process without running atexit.
    shmctl(shm_id, IPC_RMID, NULL);
    shm_id = -1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    memset(shared, 0, EDGE_MAP);
    memcpy(shared + EDGE_MAP, data, size);
    int32_t length = (int32_t)size, status;
    if (write_all(control_fd, &length, sizeof length) < 0 || read_all(status_fd, &status, sizeof status) < 0) {
        fprintf(stderr, "libfuzzer-dotnet: the target process died\n");
        abort();
    }
    inputs_run++;
    memcpy(edge_counters, shared, EDGE_MAP);
    for (int i = 0; i < EDGE_MAP; i++)
        edges_seen[i] |= shared[i];
    if (status != 0)
        __builtin_trap(); // a finding: libFuzzer saves the input as crash-<sha1>
    return 0;
}
