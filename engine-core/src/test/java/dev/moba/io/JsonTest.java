package dev.moba.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class JsonTest {

    @Test
    void parsesObjectsArraysAndScalars() {
        Object value = Json.parse(" { \"a\" : [1, -2.5, 3e2, 0.125E-1], \"b\": {\"c\": true, \"d\": false, \"e\": null},"
                + " \"f\": \"x\\\"y\\\\z\\n\\u00e9\", \"g\": [], \"h\": {} }\n");
        assertThat(value).isInstanceOf(Map.class);
        @SuppressWarnings("unchecked")
        Map<String, Object> map = (Map<String, Object>) value;
        assertThat(map.keySet()).containsExactly("a", "b", "f", "g", "h");
        assertThat(map.get("a")).isEqualTo(List.of(1.0, -2.5, 300.0, 0.0125));
        Map<?, ?> b = (Map<?, ?>) map.get("b");
        assertThat(b.get("c")).isEqualTo(true);
        assertThat(b.get("d")).isEqualTo(false);
        assertThat(b.containsKey("e")).isTrue();
        assertThat(b.get("e")).isNull();
        assertThat(map.get("f")).isEqualTo("x\"y\\z\né");
        assertThat(map.get("g")).isEqualTo(List.of());
        assertThat(map.get("h")).isEqualTo(Map.of());
        assertThat(Json.parse("42")).isEqualTo(42.0);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '~', value = {
            "{\"a\": 1|expected '}' at offset 7",
            "{\"a\" 1}|expected ':' at offset 5",
            "{a: 1}|expected a member name at offset 1",
            "[1, 2|expected ']' at offset 5",
            "[1,]|unexpected character ']' at offset 3",
            "{\"a\": 1,}|expected a member name at offset 8",
            "\"abc|unterminated string at offset 4",
            "tru|unexpected character 't' at offset 0",
            "1 2|unexpected text after the value at offset 2",
            "-|malformed number '-' at offset 1",
            "1.2.3|malformed number '1.2.3' at offset 5",
            "\"\\u12\"|bad \\u escape at offset 3",
            "\"\\uZZZZ\"|bad \\u escape at offset 3",
            "NaN|unexpected character 'N' at offset 0",
    })
    void syntaxErrorsNameTheirOffset(String text, String message) {
        assertThatThrownBy(() -> Json.parse(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("JSON: " + message);
    }

    @Test
    void emptyInputIsAnError() {
        assertThatThrownBy(() -> Json.parse("  ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("JSON: unexpected end of input at offset 2");
    }
}
