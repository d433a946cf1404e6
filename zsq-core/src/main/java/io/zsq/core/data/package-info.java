/** Evaluation data: MNIST-format idx folders and the preprocessing given on the command line. */
package io.zsq.core.data;
