package io.raftoral.state;

import com.google.protobuf.ByteString;
import io.raftoral.storage.CheckpointInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every committed value in memory, for a {@link WorkflowState} without a state store (tests of
 * this layer): fed by the state's own changes, read as the store would be.
 */
final class MemoryValues implements CommittedValues, WorkflowState.Changes {
  private record Key(String workflowId, String key) {}

  private record Position(String workflowId, String key, long seq) {}

  // Index seq of each list: the value at that seq, null once trimmed.
  private final Map<Key, List<ByteString>> values = new ConcurrentHashMap<>();
  private final Map<Position, CheckpointInfo> infos = new ConcurrentHashMap<>();

  @Override
  public ByteString read(String workflowId, String key, long seq) {
    List<ByteString> list = values.get(new Key(workflowId, key));
    if (list == null) {
      return null;
    }
    synchronized (list) {
      return seq < list.size() ? list.get((int) seq) : null;
    }
  }

  @Override
  public void checkpoint(String workflowId, String key, long seq, ByteString value, CheckpointInfo info) {
    List<ByteString> list = values.computeIfAbsent(new Key(workflowId, key), k -> new ArrayList<>());
    synchronized (list) {
      while (list.size() < seq) {
        list.add(null); // adopted from a trimmed history: the positions before it are gone
      }
      if (seq < list.size()) {
        list.set((int) seq, value); // copied again (a merge redone): the same value
      } else {
        list.add(value);
      }
    }
    infos.put(new Position(workflowId, key, seq), info);
  }

  @Override
  public void forEachStored(String workflowId, Stored consumer) {
    values.entrySet().stream().filter(e -> e.getKey().workflowId().equals(workflowId))
        .sorted(java.util.Map.Entry.comparingByKey(java.util.Comparator.comparing(Key::key)))
        .forEach(e -> {
          List<ByteString> list;
          synchronized (e.getValue()) {
            list = new ArrayList<>(e.getValue());
          }
          for (int seq = 0; seq < list.size(); seq++) {
            if (list.get(seq) != null) {
              consumer.accept(e.getKey().key(), seq, list.get(seq),
                  infos.getOrDefault(new Position(workflowId, e.getKey().key(), seq), CheckpointInfo.UNKNOWN));
            }
          }
        });
  }

  @Override
  public void removed(String workflowId) {
    values.keySet().removeIf(k -> k.workflowId().equals(workflowId));
    infos.keySet().removeIf(p -> p.workflowId().equals(workflowId));
  }

  @Override
  public void trimmed(String workflowId, String key, long fromSeq) {
    List<ByteString> list = values.get(new Key(workflowId, key));
    if (list != null) {
      synchronized (list) {
        for (int i = 0; i < fromSeq && i < list.size(); i++) {
          list.set(i, null);
        }
      }
    }
  }

  /** Holds exactly the values of {@code other} (none when null: a state with a store). */
  void replaceWith(MemoryValues other) {
    values.clear();
    infos.clear();
    if (other != null) {
      other.values.forEach((k, list) -> {
        synchronized (list) {
          values.put(k, new ArrayList<>(list));
        }
      });
      infos.putAll(other.infos);
    }
  }

  /** These changes, then {@code next}'s. */
  WorkflowState.Changes andThen(WorkflowState.Changes next) {
    if (next == WorkflowState.Changes.NONE) {
      return this;
    }
    MemoryValues self = this;
    return new WorkflowState.Changes() {
      @Override
      public void workflow(WorkflowEntry w) {
        next.workflow(w);
      }

      @Override
      public void checkpoint(String workflowId, String key, long seq, ByteString value, CheckpointInfo info) {
        self.checkpoint(workflowId, key, seq, value, info);
        next.checkpoint(workflowId, key, seq, value, info);
      }

      @Override
      public void owner(long node, long term) {
        next.owner(node, term);
      }

      @Override
      public void removed(String workflowId) {
        self.removed(workflowId);
        next.removed(workflowId);
      }

      @Override
      public void trimmed(String workflowId, String key, long fromSeq) {
        self.trimmed(workflowId, key, fromSeq);
        next.trimmed(workflowId, key, fromSeq);
      }

      @Override
      public void placement(long groups) {
        next.placement(groups);
      }

      @Override
      public void sealed(String mergeTarget) {
        next.sealed(mergeTarget);
      }

      @Override
      public void adoptionDone(String fromGroup) {
        next.adoptionDone(fromGroup);
      }
    };
  }
}
