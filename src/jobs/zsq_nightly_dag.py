"""zsq's nightly job as an Airflow DAG (Airflow 2.x; needs only Airflow itself).

One task runs the job file with spark-submit. zsq's exit code tells the scheduler what to do: 0 every model done
or skipped; 2 a model failed on bad input (a missing model file, a refused option): fail at once, retrying will not
help; 1 anything else (a lost cluster, a full disk): let Airflow retry. A retry is safe: finished models are
skipped and half-finished ones resume from their synthetic batches and Level-2 checkpoints. The summary JSON (on
HDFS here) says what each model did and that no real data was read.
"""
import subprocess
from datetime import datetime, timedelta

from airflow import DAG
from airflow.exceptions import AirflowException, AirflowFailException
from airflow.operators.python import PythonOperator

JOB = "hdfs://nn:8020/zsq/jobs/nightly.json"
SUMMARY = "hdfs://nn:8020/zsq/summaries/nightly-{{ ds }}.json"
SUBMIT = [
    "/opt/spark/bin/spark-submit", "--master", "spark://head:7077", "--class", "io.zsq.spark.Main",
    "--conf", "spark.executor.memoryOverhead=3g", "--conf", "spark.executorEnv.OMP_NUM_THREADS=1",
    "/opt/zsq/zsq-0.1.0-SNAPSHOT.jar", "job", JOB,
]


def run_job(summary, **_):
    rc = subprocess.run(SUBMIT + ["--summary", summary]).returncode
    if rc == 2:
        raise AirflowFailException(f"zsq job: bad input (see {summary}); not retried")
    if rc != 0:
        raise AirflowException(f"zsq job exited with {rc}; retrying resumes it")


with DAG(
    dag_id="zsq_nightly",
    start_date=datetime(2026, 12, 1),
    schedule="15 2 * * *",
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
) as dag:
    PythonOperator(task_id="quantize", python_callable=run_job, op_kwargs={"summary": SUMMARY})
