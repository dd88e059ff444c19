package io.raftoral.client;

import io.raftoral.common.Errors;

/**
 * A {@code host:port} address as the CLI, the client and the node's API server accept it:
 * {@code 127.0.0.1:8001}, {@code localhost:8001} or {@code [::1]:8001}. Port 0 is allowed only
 * where the caller says so (a server binding a free port).
 */
public record HostPort(String host, int port) {

  /** @throws Errors.InvalidArgumentException when {@code text} is not host:port with a port in 1..65535 */
  public static HostPort parse(String text) {
    return parse(text, false);
  }

  /** As {@link #parse(String)}; with {@code allowZero} port 0 (pick a free port) is accepted. */
  public static HostPort parse(String text, boolean allowZero) {
    if (text == null || text.isBlank()) {
      throw new Errors.InvalidArgumentException("address must be host:port, got an empty value");
    }
    String s = text.strip();
    int colon = s.lastIndexOf(':');
    if (colon <= 0 || colon == s.length() - 1) {
      throw new Errors.InvalidArgumentException("address must be host:port, got '" + text + "'");
    }
    String host = s.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.contains(":")) {
      throw new Errors.InvalidArgumentException("an IPv6 address must be in brackets, as [::1]:8001; got '" + text + "'");
    }
    if (host.isBlank() || host.chars().anyMatch(Character::isWhitespace)) {
      throw new Errors.InvalidArgumentException("address must be host:port, got '" + text + "'");
    }
    int port;
    try {
      port = Integer.parseInt(s.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new Errors.InvalidArgumentException("the port of '" + text + "' is not a number");
    }
    if (port < (allowZero ? 0 : 1) || port > 65535) {
      throw new Errors.InvalidArgumentException("the port of '" + text + "' must be in " + (allowZero ? 0 : 1) + "..65535");
    }
    return new HostPort(host, port);
  }

  @Override
  public String toString() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}
