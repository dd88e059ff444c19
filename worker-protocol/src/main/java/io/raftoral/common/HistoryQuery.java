package io.raftoral.common;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Which part of a workflow's history {@code history} returns, and which page. One key reads in
 * seq order; every key reads in the order the values were committed (exactly, whatever the
 * clocks say; values committed before the version that records it come first, by key and seq).
 *
 * @param key null or empty for every key
 * @param limit page size, 1..1000 (a page may hold fewer when its keys and values pass about 1 MiB)
 * @param pageToken from the previous page's {@link HistoryPage#nextPageToken()}; null or empty for the first page
 */
public record HistoryQuery(String key, int limit, String pageToken) {
  public static final int MAX_LIMIT = 1000;
  public static final int DEFAULT_LIMIT = 100;

  public HistoryQuery {
    key = key == null || key.isEmpty() ? null : Text.requireWellFormed("checkpoint key", key);
    pageToken = pageToken == null || pageToken.isEmpty() ? null : pageToken;
    if (limit < 1 || limit > MAX_LIMIT) {
      throw new Errors.InvalidArgumentException("limit must be between 1 and " + MAX_LIMIT + ", got " + limit);
    }
    if (pageToken != null) {
      // Refuses a malformed token, or one of another key's query, here at the edge; the workflow
      // is checked where it is known (cursor(workflowId)).
      Cursor.parse(pageToken, key, null);
    }
  }

  /** The first page of every key's history, of the default size. */
  public static HistoryQuery allKeys() {
    return new HistoryQuery(null, DEFAULT_LIMIT, null);
  }

  /** The first page of one key's history, of the default size. */
  public static HistoryQuery ofKey(String key) {
    return new HistoryQuery(key, DEFAULT_LIMIT, null);
  }

  /** The same query for the page after {@code token}. */
  public HistoryQuery after(String token) {
    return new HistoryQuery(key, limit, token);
  }

  /**
   * Where the page of {@code workflowId}'s history starts: strictly after this entry; null for
   * the first page.
   *
   * @throws Errors.InvalidArgumentException when the token was returned for another workflow
   */
  public Cursor cursor(String workflowId) {
    return pageToken == null ? null : Cursor.parse(pageToken, key, workflowId);
  }

  /**
   * The last entry of a page, as the next page's token: its place in the commit order (-1 when
   * the node has none for it), key and seq. The token names the query's key (or every key) and
   * the workflow (a hash of its id), so a token passed to another query or another workflow's
   * history is refused rather than read at a wrong place.
   */
  public record Cursor(long commitOrdinal, String key, long seq) {
    private static final String VERSION = "h2";

    public static String token(String workflowId, String queryKey, Cursor last) {
      String scope = queryKey == null ? "*" : "=" + queryKey;
      String s = VERSION + "|" + last.commitOrdinal() + "|" + last.seq() + "|" + workflowHash(workflowId) + "|"
          + last.key().length() + "|" + last.key() + "|" + scope;
      return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    /** The first 8 bytes of the id's SHA-256, in hex: enough to tell workflows apart, short in a token. */
    static String workflowHash(String workflowId) {
      try {
        byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(workflowId.getBytes(StandardCharsets.UTF_8));
        return java.util.HexFormat.of().formatHex(d, 0, 8);
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException("every JDK has SHA-256", e);
      }
    }

    /** Parses and checks the token against the query's key, and against the workflow when {@code workflowId} is not null. */
    static Cursor parse(String token, String queryKey, String workflowId) {
      Cursor c;
      String scope;
      String hash;
      try {
        String s = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
        String[] head = s.split("\\|", 6);
        if (head.length != 6 || !head[0].equals(VERSION) || head[3].length() != 16) {
          throw new IllegalArgumentException("unknown format");
        }
        hash = head[3];
        int keyLength = Integer.parseInt(head[4]);
        String rest = head[5];
        if (keyLength < 1 || rest.length() < keyLength + 2 || rest.charAt(keyLength) != '|') {
          throw new IllegalArgumentException("bad key");
        }
        long seq = Long.parseLong(head[2]);
        if (seq < 0 || Long.parseLong(head[1]) < -1) {
          throw new IllegalArgumentException("bad position");
        }
        c = new Cursor(Long.parseLong(head[1]), rest.substring(0, keyLength), seq);
        scope = rest.substring(keyLength + 1);
      } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
        // An excerpt only: echoing unbounded input would overflow the status's metadata.
        String excerpt = token.length() <= 64 ? token : token.substring(0, 32) + "..." + " (" + token.length() + " characters)";
        throw new Errors.InvalidArgumentException("malformed page token '" + excerpt + "': pass the next_page_token of a previous page");
      }
      String expected = queryKey == null ? "*" : "=" + queryKey;
      if (!scope.equals(expected)) {
        throw new Errors.InvalidArgumentException("the page token belongs to the history of "
            + (scope.equals("*") ? "every key" : "another key") + ", not of " + (queryKey == null ? "every key" : "key '" + queryKey + "'")
            + ": pass it with the query that returned it");
      }
      if (workflowId != null && !hash.equals(workflowHash(workflowId))) {
        throw new Errors.InvalidArgumentException("the page token belongs to the history of another workflow, not of "
            + workflowId + ": pass it with the query that returned it");
      }
      return c;
    }
  }
}
