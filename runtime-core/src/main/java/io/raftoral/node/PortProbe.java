package io.raftoral.node;

import io.raftoral.common.RaftoralException;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * Fails a start early, before anything is written or registered, when one of the node's
 * addresses is taken or not bindable: a node that cannot serve must not write its identity nor
 * register with a cluster (it would leave a ghost registration behind).
 */
final class PortProbe {
  private PortProbe() {}

  /** @param what what the address serves ("raft", "api"), for the message */
  static void ensureBindable(String what, String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))));
    } catch (BindException e) {
      throw new RaftoralException("cannot serve " + what + " on " + hostPort + ": the address is in use (another process "
          + "listens on it) or not this machine's (" + e.getMessage() + ")", e);
    } catch (IOException | RuntimeException e) {
      throw new RaftoralException("cannot serve " + what + " on " + hostPort + ": not bindable (" + e.getMessage() + ")", e);
    }
  }
}
