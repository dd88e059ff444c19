package io.raftoral.graal;

import java.io.IOException;
import java.net.URI;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AccessMode;
import java.nio.file.DirectoryStream;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.graalvm.polyglot.io.FileSystem;

/**
 * What a workflow module may read: the built-in module {@code "raftoral"} and, read-only, the
 * files under the directories of the modules the node loaded (so that a module may import its
 * neighbours, {@code ./lib.mjs}). Nothing else: no other file, no writes.
 */
final class ModuleFileSystem implements FileSystem {
  static final String BUILTIN_SPECIFIER = "raftoral";

  private final FileSystem files = FileSystem.newReadOnlyFileSystem(FileSystem.newDefaultFileSystem());
  private final Path builtin;
  private final List<Path> roots;

  /** {@code builtin}: the file holding the built-in module (null: none); {@code roots}: real, absolute directories. */
  ModuleFileSystem(Path builtin, List<Path> roots) {
    this.builtin = builtin;
    this.roots = List.copyOf(roots);
  }

  @Override
  public Path parsePath(URI uri) {
    return files.parsePath(uri);
  }

  @Override
  public Path parsePath(String path) {
    return builtin != null && BUILTIN_SPECIFIER.equals(path) ? builtin : files.parsePath(path);
  }

  @Override
  public void checkAccess(Path path, Set<? extends AccessMode> modes, LinkOption... options) throws IOException {
    files.checkAccess(allowed(path), modes, options);
  }

  @Override
  public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
    throw new AccessDeniedException(dir.toString(), null, "workflow modules may not write files");
  }

  @Override
  public void delete(Path path) throws IOException {
    throw new AccessDeniedException(path.toString(), null, "workflow modules may not write files");
  }

  @Override
  public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
      throws IOException {
    return files.newByteChannel(allowed(path), options, attrs);
  }

  @Override
  public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter) throws IOException {
    return files.newDirectoryStream(allowed(dir), filter);
  }

  @Override
  public Path toAbsolutePath(Path path) {
    return files.toAbsolutePath(path);
  }

  @Override
  public Path toRealPath(Path path, LinkOption... options) throws IOException {
    return files.toRealPath(allowed(path), options);
  }

  @Override
  public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options) throws IOException {
    return files.readAttributes(allowed(path), attributes, options);
  }

  /** {@code path} when a module may read it (resolving links first); otherwise a refusal naming it. */
  private Path allowed(Path path) throws IOException {
    Path absolute = files.toAbsolutePath(path).normalize();
    if (absolute.equals(builtin)) {
      return absolute;
    }
    Path real;
    try {
      real = files.toRealPath(absolute);
    } catch (IOException missing) {
      real = absolute; // a missing file under a root: let the read report it as missing
    }
    for (Path root : roots) {
      if (real.startsWith(root) && absolute.startsWith(root)) {
        return absolute;
      }
    }
    throw new AccessDeniedException(path.toString(), null,
        "a workflow module may only import files under the directories of the loaded modules " + roots);
  }
}
