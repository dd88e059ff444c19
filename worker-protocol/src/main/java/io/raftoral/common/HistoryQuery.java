package io.raftoral.common;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Which part of a workflow's history {@code history} returns, and which page. One key reads in
 * seq order; every key reads in the order the values were committed (exactly, whatever the
 * clocks say; values committed before the version that records it come first, by key and seq).
 *
 * @param key null or empty for every key
 * @param limit page size, 1..1000 (a page may hold fewer when its values pass about 1 MiB)
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
      Cursor.parse(pageToken, key); // refuses a malformed token, or one of another query, here at the edge
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

  /** Where the page starts: strictly after this entry; null for the first page. */
  public Cursor cursor() {
    return pageToken == null ? null : Cursor.parse(pageToken, key);
  }

  /**
   * The last entry of a page, as the next page's token: its place in the commit order (-1 when
   * the node has none for it), key and seq. The token names the query's key (or every key), so a
   * token passed to another query is refused rather than read at a wrong place.
   */
  public record Cursor(long commitOrdinal, String key, long seq) {
    private static final String VERSION = "h1";

    public static String token(String queryKey, Cursor last) {
      String scope = queryKey == null ? "*" : "=" + queryKey;
      String s = VERSION + "|" + last.commitOrdinal() + "|" + last.seq() + "|" + last.key().length() + "|" + last.key() + "|" + scope;
      return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static Cursor parse(String token, String queryKey) {
      Cursor c;
      String scope;
      try {
        String s = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
        String[] head = s.split("\\|", 5);
        if (head.length != 5 || !head[0].equals(VERSION)) {
          throw new IllegalArgumentException("unknown format");
        }
        int keyLength = Integer.parseInt(head[3]);
        String rest = head[4];
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
      return c;
    }
  }
}
