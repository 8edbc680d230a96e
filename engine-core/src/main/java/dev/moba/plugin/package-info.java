/**
 * The plugin folder: one sub-folder per backend plugin, each with its jars and a {@code plugin.conf} descriptor,
 * each loaded by its own class loader that shares only the engine's own packages, so that plugins with native
 * libraries never see each other's classes.
 */
package dev.moba.plugin;
