/**
 * Graph passes: each takes a graph and returns a new one with a short report, states the properties
 * it needs and the one it establishes (BN folding, activation fusion, lowering to the integer format).
 */
package io.zsq.core.passes;
