/**
 * Labelled evaluation data ({@link io.zsq.core.data.LabeledImages}): MNIST-format idx folders, CIFAR-10
 * binary files and folders of class folders of PNG/JPEG images, the resize / center-crop transforms, and
 * the preprocessing given on the command line.
 */
package io.zsq.core.data;
