/* SPDX-License-Identifier: MIT */
/* The worker's sandbox on Linux (meson -Dos=auto): a seccomp filter that
 * every thread of the worker gets (the host driver's threads exist
 * already), and Landlock for files where the kernel has it.
 *
 * Refused calls fail with EPERM (clone3 with ENOSYS, so that glibc falls
 * back to clone, whose flags the filter can read): a driver that tries
 * something degrades instead of killing the tenant's worker.
 *
 * A worker enters it first thing after fork, while it is the only thread:
 * Landlock puts only the calling thread and those it starts later in its
 * domain before ABI v8 (LANDLOCK_RESTRICT_SELF_TSYNC), and code that owns
 * one thread owns them all. Where the caller already has other threads
 * and Landlock cannot take them in, the filter also refuses the opens that
 * create, truncate, append or write only. */
#include "os/sandbox.h"

#include "os/os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SANDBOX_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH AUDIT_ARCH_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
#define SANDBOX_ARCH AUDIT_ARCH_RISCV64
#endif

/* The Landlock ABI (include/uapi/linux/landlock.h), defined here so that
 * older headers build: the numbers are the same on every architecture. */
#define LL_SYS_CREATE_RULESET 444
#define LL_SYS_ADD_RULE 445
#define LL_SYS_RESTRICT_SELF 446
#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_RESTRICT_SELF_TSYNC (1u << 3) /* ABI v8 */
#define LL_EXECUTE (1ull << 0)
#define LL_WRITE_FILE (1ull << 1)
#define LL_READ_FILE (1ull << 2)
#define LL_READ_DIR (1ull << 3)
#define LL_REMOVE_DIR (1ull << 4)
#define LL_REMOVE_FILE (1ull << 5)
#define LL_MAKE_DIR (1ull << 7)
#define LL_MAKE_REG (1ull << 8)
#define LL_FS_V1 ((1ull << 13) - 1) /* execute .. make_sym */
#define LL_REFER (1ull << 13)       /* ABI v2 */
#define LL_TRUNCATE (1ull << 14)    /* ABI v3 */
#define LL_ABI_TSYNC 8

struct ll_ruleset_attr {
   uint64_t handled_access_fs;
};
struct __attribute__((packed)) ll_path_beneath_attr {
   uint64_t allowed_access;
   int32_t parent_fd;
};

/* --- the seccomp filter --- */

enum rule_kind {
   REFUSE,             /* always */
   REFUSE_UNLESS_EQUAL, /* unless the argument is `bits` (a pid: the worker's own) */
   REFUSE_UNLESS_BITS, /* unless the argument has one of `bits` */
   REFUSE_IF_BITS,     /* if the argument has one of `bits` */
   REFUSE_IF_EQUAL,    /* if the argument is `bits` */
};

struct rule {
   long nr;
   enum rule_kind kind;
   unsigned arg;
   uint32_t bits;
   uint16_t err;
};

#define MAX_RULES 120
struct rules {
   struct rule r[MAX_RULES];
   unsigned count;
};

static void
add(struct rules *rules, long nr, enum rule_kind kind, unsigned arg, uint32_t bits, uint16_t err)
{
   if (rules->count < MAX_RULES)
      rules->r[rules->count++] = (struct rule){ nr, kind, arg, bits, err };
}

#define REFUSE_ALWAYS(rules, name) add(rules, SYS_##name, REFUSE, 0, 0, EPERM)

/* The opens that create or write where Landlock does not guard every
 * thread. O_RDWR stays: NVIDIA opens /dev/nvidiactl read-write for each
 * exported allocation and a later device (docs/security.md names the gap). */
#define WRITING_OPEN_FLAGS ((uint32_t)(O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | (O_TMPFILE & ~O_DIRECTORY)))

static void
build_rules(struct rules *rules, bool guard_files)
{
   const uint32_t self = (uint32_t)getpid();

   /* No new processes, no reach into other ones; signals only to itself
    * (abort and pthread_kill use tgkill on the worker's own pid). */
#ifdef SYS_fork
   REFUSE_ALWAYS(rules, fork);
#endif
#ifdef SYS_vfork
   REFUSE_ALWAYS(rules, vfork);
#endif
   add(rules, SYS_clone, REFUSE_UNLESS_BITS, 0, CLONE_THREAD, EPERM);
#ifdef SYS_clone3
   add(rules, SYS_clone3, REFUSE, 0, 0, ENOSYS); /* flags in memory: glibc falls back to clone */
#endif
   REFUSE_ALWAYS(rules, execve);
   REFUSE_ALWAYS(rules, execveat);
   REFUSE_ALWAYS(rules, ptrace);
   REFUSE_ALWAYS(rules, process_vm_readv);
   REFUSE_ALWAYS(rules, process_vm_writev);
   REFUSE_ALWAYS(rules, kcmp);
   REFUSE_ALWAYS(rules, pidfd_open);
   REFUSE_ALWAYS(rules, pidfd_getfd);
   REFUSE_ALWAYS(rules, pidfd_send_signal);
   add(rules, SYS_kill, REFUSE_UNLESS_EQUAL, 0, self, EPERM);
   add(rules, SYS_tgkill, REFUSE_UNLESS_EQUAL, 0, self, EPERM);
   add(rules, SYS_rt_sigqueueinfo, REFUSE_UNLESS_EQUAL, 0, self, EPERM);
   add(rules, SYS_rt_tgsigqueueinfo, REFUSE_UNLESS_EQUAL, 0, self, EPERM);
   REFUSE_ALWAYS(rules, tkill); /* a bare tid: cannot be told from another process's */

   /* No socket reaches anything (socketpair makes only a connected pair of
    * its own); the worker keeps the one it was handed. NVIDIA's driver
    * makes a Unix seqpacket socket, binds and listens on it while it
    * creates a device with ray tracing, and fails the device when any of
    * that is refused: Unix stream and seqpacket sockets may be made (they
    * send only once connected), and their bind and listen succeed without
    * taking place (the error 0), so no name another program could want is
    * taken and nothing can connect. Datagram and raw types (SOCK_DGRAM's
    * bit) could send to a path-named socket unconnected: refused. (A
    * REFUSE_IF rule falls through to the next one for the same call.) */
   add(rules, SYS_socket, REFUSE_IF_BITS, 1, SOCK_DGRAM, EPERM);
   add(rules, SYS_socket, REFUSE_UNLESS_EQUAL, 0, AF_UNIX, EPERM);
   add(rules, SYS_bind, REFUSE, 0, 0, 0);
   add(rules, SYS_listen, REFUSE, 0, 0, 0);
   REFUSE_ALWAYS(rules, connect);
   REFUSE_ALWAYS(rules, accept);
   REFUSE_ALWAYS(rules, accept4);

   /* No identity, namespace, mount or kernel changes, and none of the
    * kernel interfaces that exploits favour and no driver needs. */
   REFUSE_ALWAYS(rules, setuid);
   REFUSE_ALWAYS(rules, setgid);
   REFUSE_ALWAYS(rules, setreuid);
   REFUSE_ALWAYS(rules, setregid);
   REFUSE_ALWAYS(rules, setresuid);
   REFUSE_ALWAYS(rules, setresgid);
   REFUSE_ALWAYS(rules, setfsuid);
   REFUSE_ALWAYS(rules, setfsgid);
   REFUSE_ALWAYS(rules, setgroups);
   REFUSE_ALWAYS(rules, capset);
   REFUSE_ALWAYS(rules, unshare);
   REFUSE_ALWAYS(rules, setns);
   REFUSE_ALWAYS(rules, mount);
   REFUSE_ALWAYS(rules, umount2);
   REFUSE_ALWAYS(rules, pivot_root);
   REFUSE_ALWAYS(rules, chroot);
   REFUSE_ALWAYS(rules, open_tree);
   REFUSE_ALWAYS(rules, move_mount);
   REFUSE_ALWAYS(rules, fsopen);
   REFUSE_ALWAYS(rules, fsconfig);
   REFUSE_ALWAYS(rules, fsmount);
   REFUSE_ALWAYS(rules, fspick);
   REFUSE_ALWAYS(rules, mount_setattr);
   REFUSE_ALWAYS(rules, bpf);
   REFUSE_ALWAYS(rules, perf_event_open);
   REFUSE_ALWAYS(rules, userfaultfd);
   REFUSE_ALWAYS(rules, io_uring_setup);
   REFUSE_ALWAYS(rules, io_uring_enter);
   REFUSE_ALWAYS(rules, io_uring_register);
   REFUSE_ALWAYS(rules, keyctl);
   REFUSE_ALWAYS(rules, add_key);
   REFUSE_ALWAYS(rules, request_key);
   REFUSE_ALWAYS(rules, init_module);
   REFUSE_ALWAYS(rules, finit_module);
   REFUSE_ALWAYS(rules, delete_module);
   REFUSE_ALWAYS(rules, kexec_load);
#ifdef SYS_kexec_file_load
   REFUSE_ALWAYS(rules, kexec_file_load);
#endif
   REFUSE_ALWAYS(rules, reboot);
   REFUSE_ALWAYS(rules, swapon);
   REFUSE_ALWAYS(rules, swapoff);
   REFUSE_ALWAYS(rules, acct);
   REFUSE_ALWAYS(rules, quotactl);
   REFUSE_ALWAYS(rules, syslog);
   REFUSE_ALWAYS(rules, settimeofday);
   REFUSE_ALWAYS(rules, clock_settime);
   REFUSE_ALWAYS(rules, clock_adjtime);
   REFUSE_ALWAYS(rules, adjtimex);
   REFUSE_ALWAYS(rules, sethostname);
   REFUSE_ALWAYS(rules, setdomainname);
   REFUSE_ALWAYS(rules, vhangup);
   REFUSE_ALWAYS(rules, open_by_handle_at);
   REFUSE_ALWAYS(rules, fanotify_init);
#ifdef SYS_iopl
   REFUSE_ALWAYS(rules, iopl);
   REFUSE_ALWAYS(rules, ioperm);
#endif

   /* No keystrokes into a terminal, no console or line-discipline games
    * (the worker has no terminal of its own: these are for attacks). */
   add(rules, SYS_ioctl, REFUSE_IF_EQUAL, 1, TIOCSTI, EPERM);
   add(rules, SYS_ioctl, REFUSE_IF_EQUAL, 1, TIOCLINUX, EPERM);
   add(rules, SYS_ioctl, REFUSE_IF_EQUAL, 1, TIOCCONS, EPERM);
   add(rules, SYS_ioctl, REFUSE_IF_EQUAL, 1, TIOCSETD, EPERM);

   /* No file's mode or owner changes (Landlock has no say there). ftruncate
    * and fchmod stay: memfds. */
   REFUSE_ALWAYS(rules, fchmodat);
   REFUSE_ALWAYS(rules, fchownat);
   REFUSE_ALWAYS(rules, truncate);
#ifdef SYS_chmod
   REFUSE_ALWAYS(rules, chmod);
   REFUSE_ALWAYS(rules, chown);
   REFUSE_ALWAYS(rules, lchown);
#endif

   /* Nothing in the file tree changes and nothing is opened for writing:
    * Landlock's refusal where it covers every thread, else the filter's.
    * Landlock refuses after the path lookup, with the kernel's own errors
    * (ENOENT for a path that is not there): NVIDIA's driver unlinks and
    * symlinks paths of its own while it creates a device with ray
    * tracing, and fails the device when the filter refuses its file
    * calls, not when Landlock does. */
   if (guard_files) {
      REFUSE_ALWAYS(rules, unlinkat);
#ifdef SYS_renameat
      REFUSE_ALWAYS(rules, renameat);
#endif
      REFUSE_ALWAYS(rules, renameat2);
      REFUSE_ALWAYS(rules, mkdirat);
      REFUSE_ALWAYS(rules, linkat);
      REFUSE_ALWAYS(rules, symlinkat);
      REFUSE_ALWAYS(rules, mknodat);
#ifdef SYS_unlink
      REFUSE_ALWAYS(rules, unlink);
      REFUSE_ALWAYS(rules, rename);
      REFUSE_ALWAYS(rules, mkdir);
      REFUSE_ALWAYS(rules, rmdir);
      REFUSE_ALWAYS(rules, link);
      REFUSE_ALWAYS(rules, symlink);
      REFUSE_ALWAYS(rules, mknod);
      REFUSE_ALWAYS(rules, creat);
#endif
#ifdef SYS_open
      add(rules, SYS_open, REFUSE_IF_BITS, 1, WRITING_OPEN_FLAGS, EPERM);
#endif
      add(rules, SYS_openat, REFUSE_IF_BITS, 2, WRITING_OPEN_FLAGS, EPERM);
      add(rules, SYS_openat2, REFUSE, 0, 0, ENOSYS); /* flags in memory: glibc uses openat */
   }
}

#ifdef SANDBOX_ARCH
/* The low 32 bits of argument `i` (pids and flags are ints). */
static uint32_t
arg_offset(unsigned i)
{
   return (uint32_t)(offsetof(struct seccomp_data, args) + i * sizeof(uint64_t)) +
          (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4 : 0);
}

#define INSN_MAX (6 + MAX_RULES * 5 + 1)

/* Compiles the rules: a jump over each rule's block when the call is not
 * its own; every block ends in a return. Returns the instruction count. */
static unsigned
compile(const struct rules *rules, struct sock_filter *insn)
{
   unsigned n = 0;
   insn[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
   insn[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_ARCH, 1, 0);
   /* Another ABI (int 0x80 on x86-64) would name other calls by our numbers. */
   insn[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
   insn[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
   insn[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u /* x32 */, 0, 1);
   insn[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
#endif
   const struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
   for (unsigned i = 0; i < rules->count; i++) {
      const struct rule *r = &rules->r[i];
      const struct sock_filter refuse = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | r->err);
      const struct sock_filter load = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, arg_offset(r->arg));
      switch (r->kind) {
      case REFUSE:
         insn[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, 1);
         insn[n++] = refuse;
         break;
      case REFUSE_UNLESS_EQUAL:
         insn[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, 4);
         insn[n++] = load;
         insn[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, r->bits, 0, 1);
         insn[n++] = allow;
         insn[n++] = refuse;
         break;
      case REFUSE_UNLESS_BITS:
         insn[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, 4);
         insn[n++] = load;
         insn[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, r->bits, 0, 1);
         insn[n++] = allow;
         insn[n++] = refuse;
         break;
      case REFUSE_IF_BITS:
      case REFUSE_IF_EQUAL:
         /* Not this call's block: on to the next rule, which may be for
          * the same call. */
         insn[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, 3);
         insn[n++] = load;
         insn[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | (r->kind == REFUSE_IF_BITS ? BPF_JSET : BPF_JEQ) | BPF_K,
                                                  r->bits, 0, 1);
         insn[n++] = refuse;
         /* The accumulator holds the argument now: reload the number. */
         insn[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
         break;
      }
   }
   insn[n++] = allow;
   return n;
}

/* Installs the filter on every thread: NULL, or why not. */
static const char *
install_filter(const struct rules *rules)
{
   struct sock_filter insn[INSN_MAX];
   struct sock_fprog prog = { .len = (unsigned short)compile(rules, insn), .filter = insn };
   long ret = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
   if (ret < 0)
      return errno == ENOSYS || errno == EINVAL ? "not in this kernel" : strerror(errno);
   /* A positive return names a thread that could not take the filter (it
    * has another one already); then no thread has it. */
   return ret == 0 ? NULL : "a thread has a filter of its own";
}
#else
static const char *
install_filter(const struct rules *rules)
{
   (void)rules;
   return "no filter for this architecture";
}
#endif

/* --- Landlock --- */

/* Read-only: where drivers and the C library load code and data from, and
 * the kernel's views a driver reads (device and CPU topology, /proc/self). */
static const char *const read_only_paths[] = {
   "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/etc", "/sys", "/proc", "/dev/random", "/dev/urandom",
};
/* Read-write: the GPU device nodes (a later device, an export open new
 * fds of them) and the null devices; the rest of /dev (/dev/shm above
 * all: other programs' shared memory) stays out. */
static const char *const device_paths[] = {
   "/dev/dri", "/dev/dxg", "/dev/dma_heap", "/dev/null", "/dev/zero", "/dev/full",
};

static bool
add_path(int ruleset, const char *path, uint64_t access, uint64_t handled)
{
   int fd = open(path, O_PATH | O_CLOEXEC);
   if (fd < 0)
      return errno == ENOENT || errno == EACCES; /* nothing there to allow */
   /* A file (not a directory) takes only the rights of files. */
   struct stat st;
   if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
      access &= LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | LL_TRUNCATE;
   const struct ll_path_beneath_attr attr = { .allowed_access = access & handled, .parent_fd = fd };
   bool ok = syscall(LL_SYS_ADD_RULE, ruleset, LL_RULE_PATH_BENEATH, &attr, 0) == 0;
   close(fd);
   return ok;
}

/* The library a loader manifest (an ICD's or a layer's JSON) names:
 * "library_path": "..." resolved against the manifest's folder, else
 * false (a bare name is searched for in the system's folders, readable
 * already). Only the string is read, not the JSON: a wrong guess allows
 * one more file to be read, never less. */
static bool
manifest_library(const char *manifest, char *out, size_t size)
{
   FILE *f = fopen(manifest, "re");
   if (!f)
      return false;
   char text[8192];
   size_t len = fread(text, 1, sizeof(text) - 1, f);
   fclose(f);
   text[len] = 0;
   const char *key = strstr(text, "\"library_path\"");
   const char *open_quote = key ? strchr(key + 14, '"') : NULL;
   const char *close_quote = open_quote ? strchr(open_quote + 1, '"') : NULL;
   if (!close_quote || close_quote == open_quote + 1)
      return false;
   int name_len = (int)(close_quote - open_quote - 1);
   const char *name = open_quote + 1;
   if (name[0] == '/')
      return snprintf(out, size, "%.*s", name_len, name) < (int)size;
   if (!memchr(name, '/', (size_t)name_len))
      return false;
   const char *slash = strrchr(manifest, '/');
   int dir_len = slash ? (int)(slash - manifest) : 1;
   return snprintf(out, size, "%.*s/%.*s", dir_len, slash ? manifest : ".", name_len, name) < (int)size;
}

/* Read access to the entries of a ':'-separated list from the environment
 * (the host driver's and layers' manifests and folders, library folders),
 * and to the library each manifest names: the loader must find the driver
 * the operator chose wherever it lies, inside the sandbox. */
static bool
add_env_paths(int ruleset, const char *variable, uint64_t read, uint64_t handled)
{
   const char *value = getenv(variable);
   bool ok = true;
   while (ok && value && *value) {
      const char *end = strchr(value, ':');
      size_t len = end ? (size_t)(end - value) : strlen(value);
      char path[4096], library[4096];
      if (len && len < sizeof(path)) {
         memcpy(path, value, len);
         path[len] = 0;
         ok = add_path(ruleset, path, read, handled);
         if (ok && manifest_library(path, library, sizeof(library)))
            ok = add_path(ruleset, library, read, handled);
      }
      value = end ? end + 1 : NULL;
   }
   return ok;
}

static const char *const driver_path_variables[] = {
   "VK_ICD_FILENAMES", "VK_DRIVER_FILES",   "VK_ADD_DRIVER_FILES",        "VK_LAYER_PATH",
   "VK_ADD_LAYER_PATH", "VK_IMPLICIT_LAYER_PATH", "VK_ADD_IMPLICIT_LAYER_PATH", "LD_LIBRARY_PATH",
};

/* The Landlock domain: 0, or an errno. */
static int
enter_landlock(int abi, const char *writable_dir)
{
   uint64_t handled = LL_FS_V1 | (abi >= 2 ? LL_REFER : 0) | (abi >= 3 ? LL_TRUNCATE : 0);
   const struct ll_ruleset_attr attr = { .handled_access_fs = handled };
   int ruleset = (int)syscall(LL_SYS_CREATE_RULESET, &attr, sizeof(attr), 0);
   if (ruleset < 0)
      return errno;
   const uint64_t read = LL_READ_FILE | LL_READ_DIR;
   const uint64_t read_write = read | LL_WRITE_FILE;
   bool ok = true;
   for (size_t i = 0; i < sizeof(read_only_paths) / sizeof(read_only_paths[0]); i++)
      ok = ok && add_path(ruleset, read_only_paths[i], read, handled);
   for (size_t i = 0; i < sizeof(device_paths) / sizeof(device_paths[0]); i++)
      ok = ok && add_path(ruleset, device_paths[i], read_write, handled);
   for (size_t i = 0; i < sizeof(driver_path_variables) / sizeof(driver_path_variables[0]); i++)
      ok = ok && add_env_paths(ruleset, driver_path_variables[i], read, handled);
   /* Files and folders of its own there, no links, devices or sockets. */
   if (writable_dir)
      ok = ok && add_path(ruleset, writable_dir,
                          read_write | LL_REMOVE_DIR | LL_REMOVE_FILE | LL_MAKE_DIR | LL_MAKE_REG | LL_REFER |
                             LL_TRUNCATE,
                          handled);
   /* NVIDIA's nodes: nvidiactl, nvidia0.., nvidia-uvm, nvidia-modeset, nvidia-caps/. */
   DIR *dev = opendir("/dev");
   for (struct dirent *e; ok && dev && (e = readdir(dev));) {
      if (strncmp(e->d_name, "nvidia", 6) == 0) {
         char path[300];
         snprintf(path, sizeof(path), "/dev/%s", e->d_name);
         ok = add_path(ruleset, path, read_write, handled);
      }
   }
   if (dev)
      closedir(dev);
   int err = ok ? 0 : errno;
   if (ok && syscall(LL_SYS_RESTRICT_SELF, ruleset, abi >= LL_ABI_TSYNC ? LL_RESTRICT_SELF_TSYNC : 0) != 0)
      err = errno;
   close(ruleset);
   return err;
}

/* --- capabilities, memory --- */

/* Every capability goes, for good: a worker started as root keeps uid 0's
 * files but loses CAP_SYS_PTRACE, CAP_DAC_OVERRIDE and the rest. Returns
 * NULL, or why not. */
static const char *
drop_capabilities(void)
{
   /* The bounding set needs CAP_SETPCAP, which only a privileged worker
    * has; without it there is nothing to drop there. */
   for (unsigned long cap = 0; cap <= 63; cap++)
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EPERM)
         break; /* EINVAL: past the last capability */
   (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
   struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
   struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
   memset(data, 0, sizeof(data));
   return syscall(SYS_capset, &header, data) == 0 ? NULL : strerror(errno);
}

/* One thread (the caller's) in this process. */
static bool
single_threaded(void)
{
   DIR *tasks = opendir("/proc/self/task");
   if (!tasks)
      return false;
   unsigned count = 0;
   for (struct dirent *e; (e = readdir(tasks));)
      count += e->d_name[0] != '.';
   closedir(tasks);
   return count == 1;
}

/* --- entering --- */

enum os_sandbox_result
os_sandbox_enter(const char *writable_dir, struct os_sandbox_report *report)
{
   static int entered;
   report->what[0] = 0;
   if (__atomic_exchange_n(&entered, 1, __ATOMIC_ACQ_REL))
      return OS_SANDBOX_ALREADY;
   /* Before anything else: no other process of the user (a sibling
    * worker, the server) can read this one's memory or fds, and this one
    * none of theirs once it has no CAP_SYS_PTRACE. */
   const bool dumpable_off = os_refuse_attach() == 0;
   const char *caps_why = drop_capabilities();
   const bool alone = single_threaded();
   /* Seccomp and Landlock both ask for it (unless privileged). */
   if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      snprintf(report->what, sizeof(report->what), "nothing applied: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
      return OS_SANDBOX_WEAK;
   }

   long abi = syscall(LL_SYS_CREATE_RULESET, NULL, 0, LL_CREATE_RULESET_VERSION);
   int landlock_err = abi < 1 ? (abi < 0 ? errno : ENOSYS) : enter_landlock((int)abi, writable_dir);
   bool landlock_all = landlock_err == 0 && (alone || abi >= LL_ABI_TSYNC);

   struct rules rules = { .count = 0 };
   build_rules(&rules, !landlock_all);
   const char *seccomp_why = install_filter(&rules);

   char files[200];
   const char *writing_opens = seccomp_why ? "" : "; writing opens refused on all";
   if (landlock_all)
      snprintf(files, sizeof(files), "Landlock ABI v%ld on all threads", abi);
   else if (landlock_err == 0)
      snprintf(files, sizeof(files), "Landlock ABI v%ld on this thread and those it starts (ABI v%d: all)%s", abi,
               LL_ABI_TSYNC, writing_opens);
   else
      snprintf(files, sizeof(files), "no Landlock (%s)%s",
               landlock_err == ENOSYS || landlock_err == EOPNOTSUPP ? "not in this kernel" : strerror(landlock_err),
               writing_opens);
   char process[120];
   snprintf(process, sizeof(process), "%s, %s%s", dumpable_off ? "not dumpable" : "dumpable (prctl failed)",
            caps_why ? "capabilities kept: " : "no capabilities", caps_why ? caps_why : "");
   if (!seccomp_why && dumpable_off && !caps_why) {
      snprintf(report->what, sizeof(report->what), "seccomp filter (%u rules) on all threads, %s, %s", rules.count,
               files, process);
      return OS_SANDBOX_ENTERED;
   }
   snprintf(report->what, sizeof(report->what), "%s%s%s, %s, %s", seccomp_why ? "no seccomp filter (" : "seccomp filter",
            seccomp_why ? seccomp_why : " on all threads", seccomp_why ? "): processes and sockets not refused" : "",
            files, process);
   return OS_SANDBOX_WEAK;
}

void
os_sandbox_describe(struct os_sandbox_report *report)
{
   long abi = syscall(LL_SYS_CREATE_RULESET, NULL, 0, LL_CREATE_RULESET_VERSION);
   bool seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
   char files[160];
   if (abi >= 1)
      snprintf(files, sizeof(files), "Landlock ABI v%ld on all threads (files: the drivers' paths only; no other "
               "process reachable)", abi);
   else
      snprintf(files, sizeof(files), "no Landlock (not in this kernel): writing opens refused by the filter, "
               "existing files the user can open read-write stay open to it");
   snprintf(report->what, sizeof(report->what),
            "%s, %s, not dumpable, no capabilities, no controlling terminal, stdin from /dev/null and its log "
            "through the server", seccomp ? "seccomp filter on all threads" : "no seccomp filter (not in this kernel)",
            files);
}
