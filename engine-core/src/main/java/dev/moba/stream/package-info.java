/** Pekko Streams flows over sessions: chunks in, outputs out, back-pressured end to end. */
package dev.moba.stream;
