/*
 * libraftoral.so: hosts the JVM and forwards every call of raftoral.h to the Java side.
 *
 * raftoral_init loads libjvm.so, creates the JVM with the invocation API and calls one Java
 * method through JNI (io.raftoral.ffi.NativeBridge.bootstrap), which fills `java` with FFM
 * upcall stubs. From then on each exported function is a plain call through that table. The
 * only logic here is what must work without a JVM: finding and starting it, error objects,
 * buffers, and refusing calls before init or after shutdown.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <jni.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jtable.h"

#ifndef RAFTORAL_BUILD_JAVA_HOME
#define RAFTORAL_BUILD_JAVA_HOME ""
#endif

#define MIN_JAVA_FEATURE 25
#define JARS_DIR "raftoral-jars"

struct raftoral_error {
  raftoral_status_t code;
  char *message;
  char *detail;
};

typedef struct java_entries {
#define DECLARE_ENTRY(name, params) raftoral_status_t(*name) params;
  RAFTORAL_JAVA_ENTRIES(DECLARE_ENTRY)
#undef DECLARE_ENTRY
} java_entries_t;

static const char *const ENTRY_NAMES[] = {
#define ENTRY_NAME(name, params) #name,
    RAFTORAL_JAVA_ENTRIES(ENTRY_NAME)
#undef ENTRY_NAME
};

enum library_state { NOT_INITIALIZED, READY, SHUT_DOWN, BROKEN, FORKED };

static java_entries_t java;
static _Atomic int state = NOT_INITIALIZED;
static pthread_mutex_t lifecycle_lock = PTHREAD_MUTEX_INITIALIZER;
static char broken_reason[1024];
/* Set just before JNI_CreateJavaVM: from then on a forked child holds a JVM without its threads. */
static _Atomic int jvm_created;
static JavaVM *the_vm;
/* Set (non-NULL) on each host thread this library attached to the JVM; its destructor detaches. */
static pthread_key_t attached_key;
static void detach_at_thread_exit(void *attached);

/* ---- fork ---- */

/*
 * The libraries the engine loaded (RocksDB's static destructors, the JVM's) tear down threads
 * and locks that do not exist in a forked child, and crash there at exit(). Registered in the
 * child, this handler runs before theirs (handlers run in reverse order): it flushes stdio and
 * ends the process with exit()'s status, so the child's exit is normal.
 */
static void exit_before_library_teardown(int status, void *unused) {
  (void)unused;
  fflush(NULL);
  _exit(status);
}

/*
 * A child of fork() has only the thread that forked: the JVM's threads, which every call needs,
 * are gone, so a call would wait for them forever. The child gets RAFTORAL_ERR_FORKED instead.
 * Nothing is locked before the fork (a prepare handler that waited for lifecycle_lock could wait
 * for a whole shutdown); the child re-creates the lock, whose holder may not exist there.
 */
static void after_fork_in_child(void) {
  pthread_mutex_init(&lifecycle_lock, NULL);
  if (jvm_created) {
    state = FORKED;
    on_exit(exit_before_library_teardown, NULL);
  }
}

__attribute__((constructor)) static void register_thread_and_fork_handlers(void) {
  pthread_key_create(&attached_key, detach_at_thread_exit);
  pthread_atfork(NULL, NULL, after_fork_in_child);
}

#define FORKED_MESSAGE                                                                                     \
  "the process forked after raftoral_init: the engine's threads do not exist in this child, so the library " \
  "cannot be used here (use it in the parent, or exec a new program in the child)"

/* ---- errors and buffers ---- */

static char *copy_string(const char *s) {
  return strdup(s == NULL ? "" : s);
}

static raftoral_error_t *error_new(raftoral_status_t code, const char *message, const char *detail) {
  raftoral_error_t *e = malloc(sizeof *e);
  if (e == NULL) {
    return NULL;
  }
  e->code = code;
  e->message = copy_string(message);
  e->detail = detail == NULL ? NULL : copy_string(detail);
  return e;
}

static void *alloc_for_caller(size_t size) {
  return malloc(size == 0 ? 1 : size);
}

static const raftoral_services_t SERVICES = {alloc_for_caller, error_new};

static raftoral_status_t fail(raftoral_error_t **error_out, raftoral_status_t code, const char *format, ...) {
  if (error_out != NULL) {
    char message[2048];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    *error_out = error_new(code, message, NULL);
  }
  return code;
}

uint32_t raftoral_abi_version(void) {
  return RAFTORAL_ABI_VERSION;
}

raftoral_status_t raftoral_error_code(const raftoral_error_t *error) {
  return error == NULL ? RAFTORAL_ERR_INVALID_ARGUMENT : error->code;
}

const char *raftoral_error_message(const raftoral_error_t *error) {
  return error == NULL || error->message == NULL ? "" : error->message;
}

const char *raftoral_error_detail(const raftoral_error_t *error) {
  return error == NULL ? NULL : error->detail;
}

void raftoral_error_free(raftoral_error_t *error) {
  if (error != NULL) {
    free(error->message);
    free(error->detail);
    free(error);
  }
}

void raftoral_buf_free(raftoral_buf_t *buf) {
  if (buf != NULL) {
    free(buf->data);
    buf->data = NULL;
    buf->len = 0;
  }
}

/* ---- finding a JDK ---- */

/* The feature version (25 of "25.0.1") from <home>/release, or -1. */
static int java_feature_version(const char *home) {
  char path[4096];
  snprintf(path, sizeof path, "%s/release", home);
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    return -1;
  }
  char line[512];
  int feature = -1;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "JAVA_VERSION=\"", 14) == 0) {
      feature = atoi(line + 14);
      break;
    }
  }
  fclose(f);
  return feature;
}

/*
 * Checks that `home` is a JDK >= 25 with a server VM; on success writes its libjvm.so path.
 * On failure appends why to `why`.
 */
static int usable_java_home(const char *origin, const char *home, char *libjvm, size_t libjvm_size, char *why,
                            size_t why_size) {
  size_t used = strlen(why);
  if (home == NULL || home[0] == '\0') {
    return 0;
  }
  snprintf(libjvm, libjvm_size, "%s/lib/server/libjvm.so", home);
  struct stat st;
  if (stat(libjvm, &st) != 0) {
    snprintf(why + used, why_size - used, "%s%s=%s has no lib/server/libjvm.so", used ? "; " : "", origin, home);
    return 0;
  }
  int feature = java_feature_version(home);
  if (feature < MIN_JAVA_FEATURE) {
    snprintf(why + used, why_size - used, "%s%s=%s is Java %d, not >= %d", used ? "; " : "", origin, home, feature,
             MIN_JAVA_FEATURE);
    return 0;
  }
  return 1;
}

static raftoral_status_t find_libjvm(const raftoral_init_options_t *options, char *libjvm, size_t size,
                                     raftoral_error_t **error_out) {
  char why[3072] = "";
  if (options != NULL && options->java_home != NULL) {
    /* An explicit choice is never silently replaced by another JDK. */
    if (usable_java_home("java_home", options->java_home, libjvm, size, why, sizeof why)) {
      return RAFTORAL_OK;
    }
    return fail(error_out, RAFTORAL_ERR_JVM, "no usable JDK: %s", why);
  }
  const char *origins[] = {"RAFTORAL_JAVA_HOME", "JAVA_HOME", "build-time JDK"};
  const char *homes[] = {getenv("RAFTORAL_JAVA_HOME"), getenv("JAVA_HOME"), RAFTORAL_BUILD_JAVA_HOME};
  for (size_t i = 0; i < 3; i++) {
    if (usable_java_home(origins[i], homes[i], libjvm, size, why, sizeof why)) {
      return RAFTORAL_OK;
    }
  }
  return fail(error_out, RAFTORAL_ERR_JVM, "no JDK >= %d found (set RAFTORAL_JAVA_HOME): %s", MIN_JAVA_FEATURE,
              why[0] ? why : "none of RAFTORAL_JAVA_HOME, JAVA_HOME is set");
}

/* ---- the class path: every jar in raftoral-jars/ beside this library ---- */

static int compare_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Returns a malloc'ed class path, or NULL with an error stored. */
static char *default_class_path(raftoral_error_t **error_out) {
  Dl_info info;
  if (dladdr((void *)raftoral_init, &info) == 0 || info.dli_fname == NULL) {
    fail(error_out, RAFTORAL_ERR_JVM, "cannot locate libraftoral.so to find its jars; pass class_path");
    return NULL;
  }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", info.dli_fname);
  char *slash = strrchr(dir, '/');
  if (slash == NULL) {
    snprintf(dir, sizeof dir, ".");
  } else {
    *slash = '\0';
  }
  char jars[4096 + 32];
  snprintf(jars, sizeof jars, "%s/%s", dir, JARS_DIR);
  DIR *d = opendir(jars);
  if (d == NULL) {
    fail(error_out, RAFTORAL_ERR_JVM, "no %s directory beside libraftoral.so (looked in %s); pass class_path", JARS_DIR,
         jars);
    return NULL;
  }
  char **names = NULL;
  size_t count = 0, total = 1;
  struct dirent *entry;
  while ((entry = readdir(d)) != NULL) {
    size_t len = strlen(entry->d_name);
    if (len > 4 && strcmp(entry->d_name + len - 4, ".jar") == 0) {
      char **grown = realloc(names, (count + 1) * sizeof *names);
      if (grown == NULL) {
        break;
      }
      names = grown;
      names[count++] = strdup(entry->d_name);
      total += strlen(jars) + 1 + len + 1;
    }
  }
  closedir(d);
  if (count == 0) {
    free(names);
    fail(error_out, RAFTORAL_ERR_JVM, "%s holds no jars; rebuild ffi-c-api", jars);
    return NULL;
  }
  qsort(names, count, sizeof *names, compare_names); /* a stable order across runs */
  char *path = malloc(total);
  path[0] = '\0';
  for (size_t i = 0; i < count; i++) {
    if (i > 0) {
      strcat(path, ":");
    }
    strcat(path, jars);
    strcat(path, "/");
    strcat(path, names[i]);
    free(names[i]);
  }
  free(names);
  return path;
}

/* ---- starting the JVM ---- */

/*
 * The JVM runs with -Xrs, so it leaves SIGINT/SIGTERM/SIGQUIT to the host. The handlers it
 * still installs (crash and safepoint signals) lack SA_ONSTACK, which Go requires of every
 * handler in its process: add it.
 */
static void add_onstack_to_jvm_handlers(void) {
  const int signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGPIPE, SIGXFSZ, SIGUSR2};
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
    struct sigaction action;
    if (sigaction(signals[i], NULL, &action) != 0) {
      continue;
    }
    int installed = (action.sa_flags & SA_SIGINFO) ? action.sa_sigaction != NULL
                                                   : action.sa_handler != SIG_DFL && action.sa_handler != SIG_IGN;
    if (installed && !(action.sa_flags & SA_ONSTACK)) {
      action.sa_flags |= SA_ONSTACK;
      sigaction(signals[i], &action, NULL);
    }
  }
}

/* The message of a pending Java exception (cleared), or a fallback. */
static void pending_exception_message(JNIEnv *env, char *out, size_t size) {
  jthrowable thrown = (*env)->ExceptionOccurred(env);
  snprintf(out, size, "unknown Java error");
  if (thrown == NULL) {
    return;
  }
  (*env)->ExceptionClear(env);
  jclass throwable = (*env)->FindClass(env, "java/lang/Throwable");
  jmethodID to_string = (*env)->GetMethodID(env, throwable, "toString", "()Ljava/lang/String;");
  jstring text = (jstring)(*env)->CallObjectMethod(env, thrown, to_string);
  if (text != NULL && !(*env)->ExceptionCheck(env)) {
    const char *chars = (*env)->GetStringUTFChars(env, text, NULL);
    snprintf(out, size, "%s", chars);
    (*env)->ReleaseStringUTFChars(env, text, chars);
  }
  (*env)->ExceptionClear(env);
}

typedef jint (*create_java_vm_fn)(JavaVM **, void **, void *);

static raftoral_status_t start_jvm(const raftoral_init_options_t *options, raftoral_error_t **error_out) {
  char libjvm[4096];
  raftoral_status_t status = find_libjvm(options, libjvm, sizeof libjvm, error_out);
  if (status != RAFTORAL_OK) {
    return status;
  }
  void *jvm_library = dlopen(libjvm, RTLD_NOW | RTLD_GLOBAL);
  if (jvm_library == NULL) {
    return fail(error_out, RAFTORAL_ERR_JVM, "cannot load %s: %s", libjvm, dlerror());
  }
  create_java_vm_fn create = (create_java_vm_fn)dlsym(jvm_library, "JNI_CreateJavaVM");
  if (create == NULL) {
    return fail(error_out, RAFTORAL_ERR_JVM, "%s has no JNI_CreateJavaVM", libjvm);
  }

  char *class_path = options != NULL && options->class_path != NULL ? strdup(options->class_path)
                                                                     : default_class_path(error_out);
  if (class_path == NULL) {
    return RAFTORAL_ERR_JVM;
  }
  size_t extra = options != NULL && options->jvm_options != NULL ? options->jvm_options_len : 0;
  char *env_options = getenv("RAFTORAL_JVM_OPTIONS") ? strdup(getenv("RAFTORAL_JVM_OPTIONS")) : NULL;
  size_t env_count = 0;
  for (char *p = env_options; p != NULL && *p;) {
    while (*p == ' ') p++;
    if (*p) env_count++;
    while (*p && *p != ' ') p++;
  }
  JavaVMOption *vm_options = calloc(4 + extra + env_count, sizeof *vm_options);
  size_t n = 0;
  size_t class_path_option_size = strlen(class_path) + 32;
  char *class_path_option = malloc(class_path_option_size);
  snprintf(class_path_option, class_path_option_size, "-Djava.class.path=%s", class_path);
  vm_options[n++].optionString = class_path_option;
  vm_options[n++].optionString = "-Xrs";
  vm_options[n++].optionString = "--enable-native-access=ALL-UNNAMED";
  vm_options[n++].optionString = "--sun-misc-unsafe-memory-access=allow";
  for (size_t i = 0; i < extra; i++) {
    if (options->jvm_options[i] != NULL) {
      vm_options[n++].optionString = (char *)options->jvm_options[i];
    }
  }
  for (char *p = env_options; p != NULL && *p;) {
    while (*p == ' ') *p++ = '\0';
    if (!*p) break;
    vm_options[n++].optionString = p;
    while (*p && *p != ' ') p++;
  }
  JavaVMInitArgs args = {.version = JNI_VERSION_21, .nOptions = (jint)n, .options = vm_options,
                         .ignoreUnrecognized = JNI_FALSE};
  JavaVM *vm = NULL;
  JNIEnv *env = NULL;
  jvm_created = 1;
  jint created = create(&vm, (void **)&env, &args);
  free(vm_options);
  free(class_path_option);
  free(class_path);
  free(env_options);
  if (created != JNI_OK) {
    /* A JVM that failed half-way cannot be created again in this process. */
    snprintf(broken_reason, sizeof broken_reason, "JNI_CreateJavaVM with %s failed with code %d (see stderr)",
             libjvm, (int)created);
    state = BROKEN;
    return fail(error_out, RAFTORAL_ERR_JVM, "%s", broken_reason);
  }
  add_onstack_to_jvm_handlers();

  jclass bridge = (*env)->FindClass(env, "io/raftoral/ffi/NativeBridge");
  jmethodID bootstrap = bridge == NULL ? NULL : (*env)->GetStaticMethodID(env, bridge, "bootstrap", "(JJJJ)V");
  if (bootstrap != NULL) {
    (*env)->CallStaticVoidMethod(env, bridge, bootstrap, (jlong)(uintptr_t)&java,
                                 (jlong)(sizeof java / sizeof(void *)), (jlong)(uintptr_t)ENTRY_NAMES,
                                 (jlong)(uintptr_t)&SERVICES);
  }
  if (bootstrap == NULL || (*env)->ExceptionCheck(env)) {
    char why[768];
    pending_exception_message(env, why, sizeof why);
    snprintf(broken_reason, sizeof broken_reason, "the Raftoral engine did not start: %s", why);
    state = BROKEN;
    (*vm)->DetachCurrentThread(vm);
    return fail(error_out, RAFTORAL_ERR_JVM, "%s", broken_reason);
  }
  /* Later calls attach their threads first (attach_current_thread); this thread may be one the host lets end. */
  (*vm)->DetachCurrentThread(vm);
  the_vm = vm;
  state = READY;
  return RAFTORAL_OK;
}

raftoral_status_t raftoral_init(const raftoral_init_options_t *caller_options, raftoral_error_t **error_out) {
  if (error_out != NULL) {
    *error_out = NULL;
  }
  if (state == FORKED) {
    return fail(error_out, RAFTORAL_ERR_FORKED, FORKED_MESSAGE);
  }
  if (caller_options != NULL && caller_options->struct_size < sizeof(size_t)) {
    return fail(error_out, RAFTORAL_ERR_INVALID_ARGUMENT, "options->struct_size must be sizeof(raftoral_init_options_t)");
  }
  /* Only the caller's struct_size bytes are read; fields beyond them (a caller built against an
     older header) keep their defaults, and a newer caller's extra fields are ignored. */
  raftoral_init_options_t copy = {0};
  const raftoral_init_options_t *options = NULL;
  if (caller_options != NULL) {
    memcpy(&copy, caller_options, caller_options->struct_size < sizeof copy ? caller_options->struct_size : sizeof copy);
    copy.struct_size = sizeof copy;
    options = &copy;
  }
  pthread_mutex_lock(&lifecycle_lock);
  raftoral_status_t status;
  switch (state) {
  case READY:
    status = RAFTORAL_OK;
    break;
  case SHUT_DOWN:
    status = fail(error_out, RAFTORAL_ERR_SHUT_DOWN, "raftoral_shutdown was called; a process starts the engine once");
    break;
  case BROKEN:
    status = fail(error_out, RAFTORAL_ERR_JVM, "%s", broken_reason);
    break;
  case FORKED:
    status = fail(error_out, RAFTORAL_ERR_FORKED, FORKED_MESSAGE);
    break;
  default:
    status = start_jvm(options, error_out);
  }
  pthread_mutex_unlock(&lifecycle_lock);
  return status;
}

/* A host thread that this library attached ends: detach it (never in a forked child). */
static void detach_at_thread_exit(void *attached) {
  if (attached != NULL && the_vm != NULL && state != FORKED) {
    (*the_vm)->DetachCurrentThread(the_vm);
  }
}

/*
 * Attaches the calling thread to the JVM through JNI before its first call into Java. An FFM
 * upcall would attach it by itself, but with a C++ thread_local whose destructor detaches it
 * inside exit(): in a child forked by that thread, the detach waits forever on JVM locks whose
 * holders do not exist there. A pthread key's destructor runs when a thread ends, never in exit().
 * Threads of the JVM (a workflow callback calling back) are attached already: nothing to do.
 */
static raftoral_status_t attach_current_thread(raftoral_error_t **error_out) {
  if (pthread_getspecific(attached_key) != NULL) {
    return RAFTORAL_OK;
  }
  JNIEnv *env = NULL;
  if ((*the_vm)->GetEnv(the_vm, (void **)&env, JNI_VERSION_21) == JNI_OK) {
    return RAFTORAL_OK;
  }
  JavaVMAttachArgs args = {.version = JNI_VERSION_21, .name = NULL, .group = NULL};
  if ((*the_vm)->AttachCurrentThreadAsDaemon(the_vm, (void **)&env, &args) != JNI_OK) {
    return fail(error_out, RAFTORAL_ERR_JVM, "cannot attach this thread to the JVM");
  }
  pthread_setspecific(attached_key, (void *)1);
  return RAFTORAL_OK;
}

/* Refuses a call when the engine is not running; NULL-initialises error_out otherwise. */
static raftoral_status_t check_ready(raftoral_error_t **error_out) {
  if (error_out != NULL) {
    *error_out = NULL;
  }
  switch (state) {
  case READY:
    return attach_current_thread(error_out);
  case SHUT_DOWN:
    return fail(error_out, RAFTORAL_ERR_SHUT_DOWN, "raftoral_shutdown was called");
  case BROKEN:
    return fail(error_out, RAFTORAL_ERR_JVM, "%s", broken_reason);
  case FORKED:
    return fail(error_out, RAFTORAL_ERR_FORKED, FORKED_MESSAGE);
  default:
    return fail(error_out, RAFTORAL_ERR_NOT_INITIALIZED, "call raftoral_init first");
  }
}

raftoral_status_t raftoral_shutdown(raftoral_error_t **error_out) {
  if (state == FORKED) {
    return check_ready(error_out); /* at once: a forked child has no engine to stop */
  }
  pthread_mutex_lock(&lifecycle_lock);
  raftoral_status_t status = check_ready(error_out);
  if (status == RAFTORAL_OK) {
    state = SHUT_DOWN; /* first: no new call starts while the nodes close */
    status = java.shutdown(error_out);
  } else if (state == SHUT_DOWN) {
    raftoral_error_free(error_out != NULL ? *error_out : NULL);
    if (error_out != NULL) {
      *error_out = NULL;
    }
    status = RAFTORAL_OK;
  }
  pthread_mutex_unlock(&lifecycle_lock);
  return status;
}

/* ---- forwarding ---- */

#define HANDLE(h) ((uint64_t)(uintptr_t)(h))
#define FORWARD(entry, ...)                                 \
  do {                                                      \
    raftoral_status_t ready_ = check_ready(error_out);      \
    return ready_ != RAFTORAL_OK ? ready_ : java.entry(__VA_ARGS__); \
  } while (0)

raftoral_status_t raftoral_node_create(const char *config_json, raftoral_node_t **node_out,
                                       raftoral_error_t **error_out) {
  raftoral_status_t ready = check_ready(error_out);
  if (ready != RAFTORAL_OK) {
    return ready;
  }
  if (node_out == NULL) {
    return fail(error_out, RAFTORAL_ERR_INVALID_ARGUMENT, "node_out must not be NULL");
  }
  uint64_t handle = 0;
  raftoral_status_t status = java.node_create(config_json, &handle, error_out);
  if (status == RAFTORAL_OK) {
    *node_out = (raftoral_node_t *)(uintptr_t)handle;
  }
  return status;
}

raftoral_status_t raftoral_node_register_workflow(raftoral_node_t *node, const char *type, uint32_t version,
                                                  raftoral_execution_mode_t mode, raftoral_workflow_fn fn, void *env,
                                                  raftoral_finalizer_fn finalizer, raftoral_error_t **error_out) {
  FORWARD(node_register_workflow, HANDLE(node), type, version, mode, (int64_t)0, (void *)fn, env, (void *)finalizer,
          error_out);
}

raftoral_status_t raftoral_node_register_workflow_ex(raftoral_node_t *node, const char *type, uint32_t version,
                                                     const raftoral_workflow_options_t *caller_options,
                                                     raftoral_workflow_fn fn, void *env, raftoral_finalizer_fn finalizer,
                                                     raftoral_error_t **error_out) {
  raftoral_status_t ready = check_ready(error_out);
  if (ready != RAFTORAL_OK) {
    return ready;
  }
  if (caller_options != NULL && caller_options->struct_size < sizeof(size_t)) {
    return fail(error_out, RAFTORAL_ERR_INVALID_ARGUMENT,
                "options->struct_size must be sizeof(raftoral_workflow_options_t)");
  }
  /* As raftoral_init: only the caller's struct_size bytes are read, the rest keeps the defaults. */
  raftoral_workflow_options_t options = {0};
  if (caller_options != NULL) {
    memcpy(&options, caller_options,
           caller_options->struct_size < sizeof options ? caller_options->struct_size : sizeof options);
  }
  return java.node_register_workflow(HANDLE(node), type, version, options.mode, options.keep_last_per_key, (void *)fn,
                                     env, (void *)finalizer, error_out);
}

raftoral_status_t raftoral_node_start(raftoral_node_t *node, raftoral_error_t **error_out) {
  FORWARD(node_start, HANDLE(node), error_out);
}

raftoral_status_t raftoral_node_id(raftoral_node_t *node, uint64_t *id_out, raftoral_error_t **error_out) {
  FORWARD(node_id, HANDLE(node), id_out, error_out);
}

raftoral_status_t raftoral_node_api_address(raftoral_node_t *node, char *buf, size_t capacity, size_t *len_out,
                                            raftoral_error_t **error_out) {
  FORWARD(node_api_address, HANDLE(node), buf, capacity, len_out, error_out);
}

raftoral_status_t raftoral_node_http_address(raftoral_node_t *node, char *buf, size_t capacity, size_t *len_out,
                                             raftoral_error_t **error_out) {
  FORWARD(node_http_address, HANDLE(node), buf, capacity, len_out, error_out);
}

raftoral_status_t raftoral_node_close(raftoral_node_t *node, raftoral_error_t **error_out) {
  FORWARD(node_close, HANDLE(node), error_out);
}

raftoral_status_t raftoral_workflow_start(raftoral_node_t *node, const char *type, uint32_t version,
                                          const uint8_t *input, size_t input_len, const char *workflow_id,
                                          raftoral_buf_t *workflow_id_out, raftoral_error_t **error_out) {
  FORWARD(workflow_start, HANDLE(node), type, version, input, input_len, workflow_id, workflow_id_out, error_out);
}

raftoral_status_t raftoral_workflow_await(raftoral_node_t *node, const char *workflow_id, int64_t timeout_ms,
                                          raftoral_buf_t *result_out, raftoral_error_t **error_out) {
  FORWARD(workflow_await, HANDLE(node), workflow_id, timeout_ms, result_out, error_out);
}

raftoral_status_t raftoral_workflow_describe(raftoral_node_t *node, const char *workflow_id,
                                             raftoral_buf_t *info_json_out, raftoral_error_t **error_out) {
  FORWARD(workflow_describe, HANDLE(node), workflow_id, info_json_out, error_out);
}

raftoral_status_t raftoral_workflow_list(raftoral_node_t *node, const char *query_json, raftoral_buf_t *page_json_out,
                                         raftoral_error_t **error_out) {
  FORWARD(workflow_list, HANDLE(node), query_json, page_json_out, error_out);
}

raftoral_status_t raftoral_workflow_history(raftoral_node_t *node, const char *workflow_id, const char *key,
                                            const char *page_token, uint32_t limit, raftoral_buf_t *history_json_out,
                                            raftoral_error_t **error_out) {
  FORWARD(workflow_history, HANDLE(node), workflow_id, key, page_token, limit, history_json_out, error_out);
}

raftoral_status_t raftoral_workflow_terminate(raftoral_node_t *node, const char *workflow_id, const char *reason,
                                              raftoral_buf_t *info_json_out, raftoral_error_t **error_out) {
  FORWARD(workflow_terminate, HANDLE(node), workflow_id, reason, info_json_out, error_out);
}

raftoral_status_t raftoral_ctx_checkpoint(raftoral_ctx_t *ctx, const char *key, const uint8_t *value, size_t value_len,
                                          raftoral_buf_t *committed_out, raftoral_error_t **error_out) {
  FORWARD(ctx_checkpoint, HANDLE(ctx), key, value, value_len, committed_out, error_out);
}

raftoral_status_t raftoral_ctx_checkpoint_compute(raftoral_ctx_t *ctx, const char *key, raftoral_compute_fn fn,
                                                  void *env, raftoral_buf_t *committed_out,
                                                  raftoral_error_t **error_out) {
  FORWARD(ctx_checkpoint_compute, HANDLE(ctx), key, (void *)fn, env, committed_out, error_out);
}

raftoral_status_t raftoral_ctx_is_terminated(raftoral_ctx_t *ctx, int32_t *terminated_out,
                                             raftoral_error_t **error_out) {
  FORWARD(ctx_is_terminated, HANDLE(ctx), terminated_out, error_out);
}

raftoral_status_t raftoral_ctx_is_owner(raftoral_ctx_t *ctx, int32_t *owner_out, raftoral_error_t **error_out) {
  FORWARD(ctx_is_owner, HANDLE(ctx), owner_out, error_out);
}

raftoral_status_t raftoral_ctx_workflow_id(raftoral_ctx_t *ctx, char *buf, size_t capacity, size_t *len_out,
                                           raftoral_error_t **error_out) {
  FORWARD(ctx_workflow_id, HANDLE(ctx), buf, capacity, len_out, error_out);
}

raftoral_status_t raftoral_output_set(raftoral_output_t *output, const uint8_t *data, size_t len,
                                      raftoral_error_t **error_out) {
  FORWARD(output_set, HANDLE(output), data, len, error_out);
}

raftoral_status_t raftoral_output_fail(raftoral_output_t *output, const char *error_type, const char *message,
                                       raftoral_error_t **error_out) {
  FORWARD(output_fail, HANDLE(output), error_type, message, error_out);
}
