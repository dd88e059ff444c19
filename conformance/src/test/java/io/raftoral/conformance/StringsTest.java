package io.raftoral.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StringsTest {
  @Test
  void bytesThatAreNotUtf8BecomeLoneSurrogatesAndBack() {
    String s = Strings.fromHexEscaped("6b2dff");
    assertThat(s).isEqualTo("k-\uDCFF");
    assertThat(Strings.isWellFormed(s)).isFalse();
    assertThat(Strings.hex(s)).isEqualTo("6b2dff");
    String ok = Strings.fromHexEscaped("c3a9f09f9880");
    assertThat(ok).isEqualTo("é😀");
    assertThat(Strings.isWellFormed(ok)).isTrue();
    assertThat(Strings.hex(ok)).isEqualTo("c3a9f09f9880");
  }
}
