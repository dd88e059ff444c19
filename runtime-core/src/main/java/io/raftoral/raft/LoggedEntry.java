package io.raftoral.raft;

/** An entry of a group's log that carries state machine data (our encoded command batch). */
public record LoggedEntry(long term, long index, byte[] data) {}
