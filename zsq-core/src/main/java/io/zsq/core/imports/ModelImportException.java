package io.zsq.core.imports;

/** A model that zsq cannot read; the message names the file, the node or layer, and the remedy. */
public class ModelImportException extends RuntimeException {
    public ModelImportException(String message) {
        super(message);
    }

    public ModelImportException(String message, Throwable cause) {
        super(message, cause);
    }
}
