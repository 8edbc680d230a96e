/** Accounting of the off-heap memory an engine holds, per session and against its budget. */
package dev.moba.memory;
