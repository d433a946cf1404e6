/**
 * Importers into the graph IR: ONNX (opset 11-18, as PyTorch exports it), DL4J model zips
 * (MultiLayerNetwork and ComputationGraph) and Keras 2 HDF5 models (through DL4J's Keras import).
 * Every rejection is a {@link io.zsq.core.imports.ModelImportException} naming the file, the node
 * and what to do.
 */
package io.zsq.core.imports;
