SELECT pg_is_in_recovery() AS standby,
       COALESCE((SELECT status = 'streaming' FROM pg_stat_wal_receiver), false) AS streaming,
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
       ELSE COALESCE(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)
       END::float8 AS lag
