package io.zsq.spark.fs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/** A real HDFS in this JVM (a NameNode and one DataNode on 127.0.0.1), its storage under target/. */
public final class MiniHdfs {
    private MiniHdfs() {}

    public static MiniDFSCluster start(String name) throws IOException {
        Path base = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "minidfs-" + name);
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.toString());
        conf.set("dfs.namenode.rpc-bind-host", "127.0.0.1");
        conf.set("dfs.datanode.address", "127.0.0.1:0");
        conf.set("dfs.datanode.http.address", "127.0.0.1:0");
        conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
        conf.set("dfs.namenode.http-address", "127.0.0.1:0");
        conf.setBoolean("dfs.permissions.enabled", false);
        MiniDFSCluster c = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        c.waitActive();
        return c;
    }

    public static void stop(MiniDFSCluster c) {
        if (c != null) {
            c.shutdown(true);
        }
    }
}
