package dev.moba.cli;

import dev.moba.tensor.DType;
import picocli.CommandLine.ITypeConverter;

/** Parses {@code --dtype} values. */
final class DTypeConverter implements ITypeConverter<DType> {
    @Override
    public DType convert(String value) {
        return DType.parse(value);
    }
}
