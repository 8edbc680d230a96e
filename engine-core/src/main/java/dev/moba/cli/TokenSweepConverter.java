package dev.moba.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Parses {@code --sweep} values; picocli puts the option's name before the message. */
final class TokenSweepConverter implements ITypeConverter<TokenSweep> {
    @Override
    public TokenSweep convert(String value) {
        try {
            return TokenSweep.parse(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }
}
