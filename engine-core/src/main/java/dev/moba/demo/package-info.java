/**
 * {@code moba demo}: a synthetic long document with recurring topics streamed through the engine, its speed, its
 * sparsity, its exactness against an fp64 reference, and a heat map of the blocks its queries selected.
 */
package dev.moba.demo;
