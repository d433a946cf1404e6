#!/usr/bin/env bash
# Trains the bundled DL4J model: tools/train-dl4j.sh [epochs] [out.zip]
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -q -B -DskipTests install -pl zsq-core -am
./mvnw -q -B dependency:build-classpath -pl zsq-core -Dmdep.outputFile=target/core.classpath
CP="zsq-core/target/classes:$(cat zsq-core/target/core.classpath)"
OMP_NUM_THREADS=2 java -Xmx6g -cp "$CP" tools/TrainDl4jCnn.java "$@"
