package io.raftoral.raft;

import java.util.UUID;
import org.apache.ratis.protocol.RaftGroupId;

/**
 * The id of one Raft group (the management group or an execution group): a UUID. Everything
 * above the raft package names groups by this value; the Ratis id it stands for stays inside.
 */
public final class GroupId {
  private final RaftGroupId ratis;

  private GroupId(RaftGroupId ratis) {
    this.ratis = ratis;
  }

  public static GroupId of(UUID uuid) {
    return new GroupId(RaftGroupId.valueOf(uuid));
  }

  /** The group named by a UUID string, as the topology records it. */
  public static GroupId parse(String uuid) {
    return of(UUID.fromString(uuid));
  }

  static GroupId of(RaftGroupId ratis) {
    return new GroupId(ratis);
  }

  public UUID uuid() {
    return ratis.getUuid();
  }

  RaftGroupId ratis() {
    return ratis;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GroupId other && ratis.equals(other.ratis);
  }

  @Override
  public int hashCode() {
    return ratis.hashCode();
  }

  /** As Ratis prints it ({@code group-<last 12 hex digits>}), so our logs and Ratis's name a group alike. */
  @Override
  public String toString() {
    return ratis.toString();
  }
}
