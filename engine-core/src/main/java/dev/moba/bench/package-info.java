/** Timing of whole prefills through the engine, as {@code moba bench} runs them. */
package dev.moba.bench;
