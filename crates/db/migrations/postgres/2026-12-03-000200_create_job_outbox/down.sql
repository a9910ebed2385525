DROP INDEX messages_streaming_idx;
DROP TABLE job_outbox;
