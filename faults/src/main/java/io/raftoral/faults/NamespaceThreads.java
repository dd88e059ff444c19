package io.raftoral.faults;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * A thread inside a network namespace, for opening sockets there from this JVM: a socket
 * belongs to the namespace it was created in, whichever thread uses it later, and
 * {@code setns(2)} moves only the calling thread.
 */
final class NamespaceThreads {
  private NamespaceThreads() {}

  /** One thread that entered the namespace of {@code file} (e.g. {@link NetworkNamespaces#namespaceFile}); shut it down when done. */
  static ExecutorService inside(Path file) {
    return Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon().name("in-" + file.getFileName()).unstarted(() -> {
      enterNamespace(file.toString());
      r.run();
    }));
  }

  /** Runs {@code task} on {@code inside}'s thread: a socket it opens is in that namespace. */
  static <T> T call(ExecutorService inside, java.util.concurrent.Callable<T> task) throws IOException {
    Future<T> f = inside.submit(task);
    try {
      return f.get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IOException("the namespace thread did not answer within 30 s", e);
    }
  }

  // setns(2) through the FFM API: this thread's network namespace becomes the one of the file.
  private static final Linker LINKER = Linker.nativeLinker();
  private static final MethodHandle OPEN = LINKER.downcallHandle(LINKER.defaultLookup().find("open").orElseThrow(),
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), Linker.Option.firstVariadicArg(2));
  private static final MethodHandle SETNS = LINKER.downcallHandle(LINKER.defaultLookup().find("setns").orElseThrow(),
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
  private static final MethodHandle CLOSE = LINKER.downcallHandle(LINKER.defaultLookup().find("close").orElseThrow(),
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
  private static final int O_RDONLY_CLOEXEC = 0x80000; // O_RDONLY | O_CLOEXEC
  private static final int CLONE_NEWNET = 0x40000000;

  private static void enterNamespace(String file) {
    try (Arena arena = Arena.ofConfined()) {
      int fd = (int) OPEN.invokeExact(arena.allocateFrom(file), O_RDONLY_CLOEXEC);
      if (fd < 0) {
        throw new IllegalStateException("cannot open " + file);
      }
      int rc = (int) SETNS.invokeExact(fd, CLONE_NEWNET);
      int ignored = (int) CLOSE.invokeExact(fd);
      if (rc != 0) {
        throw new IllegalStateException("setns(" + file + ") failed");
      }
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable e) {
      throw new IllegalStateException("setns(" + file + ")", e);
    }
  }
}
