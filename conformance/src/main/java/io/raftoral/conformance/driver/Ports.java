package io.raftoral.conformance.driver;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Path;

/** Free local ports and the JDK's {@code java}, for the processes a driver starts. */
public final class Ports {
  private Ports() {}

  /** Ports the kernel just handed out, released again for the nodes to bind. */
  public static int[] free(int count) {
    ServerSocket[] sockets = new ServerSocket[count];
    int[] ports = new int[count];
    try {
      for (int i = 0; i < count; i++) {
        sockets[i] = new ServerSocket(0);
        ports[i] = sockets[i].getLocalPort();
      }
      return ports;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      for (ServerSocket s : sockets) {
        try {
          if (s != null) {
            s.close();
          }
        } catch (IOException ignored) {
          // closing a listening socket we own
        }
      }
    }
  }

  public static String javaExecutable() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }
}
