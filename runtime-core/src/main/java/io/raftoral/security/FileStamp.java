package io.raftoral.security;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;

/**
 * What tells that a file changed without reading it: its modification time, size and file key
 * (the inode, which a rename over it changes). {@link #MISSING} stands for a file that is gone.
 */
record FileStamp(FileTime lastModified, long size, Object fileKey) {
  static final FileStamp MISSING = new FileStamp(null, -1, null);

  static FileStamp of(Path file) {
    try {
      BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
      return new FileStamp(attributes.lastModifiedTime(), attributes.size(), attributes.fileKey());
    } catch (IOException e) {
      return MISSING;
    }
  }
}
