-- A state database as earlywarn's first release (schema version 1) created it, with one
-- pending outbox message; written by that release's open_state() and stage(), dumped by sqlite3.
BEGIN TRANSACTION;
CREATE TABLE drift (
	run_id VARCHAR(64) NOT NULL, 
	feature VARCHAR(200) NOT NULL, 
	psi FLOAT NOT NULL, 
	level VARCHAR(10) NOT NULL, 
	PRIMARY KEY (run_id, feature), 
	FOREIGN KEY(run_id) REFERENCES scoring_runs (run_id)
);
CREATE TABLE earlywarn_meta (
	"key" VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY ("key")
);
INSERT INTO "earlywarn_meta" VALUES('schema_version','1');
CREATE TABLE outbox (
	recipient_id VARCHAR(200) NOT NULL, 
	week VARCHAR(10) NOT NULL, 
	kind VARCHAR(10) NOT NULL, 
	to_addr TEXT NOT NULL, 
	from_addr TEXT NOT NULL, 
	subject TEXT NOT NULL, 
	message_id TEXT NOT NULL, 
	message BLOB NOT NULL, 
	n_students INTEGER NOT NULL, 
	status VARCHAR(10) NOT NULL, 
	attempts INTEGER NOT NULL, 
	last_error TEXT, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	sent_at DATETIME, 
	claimed_until DATETIME, 
	PRIMARY KEY (recipient_id, week)
);
INSERT INTO "outbox" VALUES('A1','2026-10-05','advisor','ana@uni.example','earlywarn@uni.example','digest','<1@uni.example>',X'5375626A6563743A206469676573740D0A46726F6D3A206561726C797761726E40756E692E6578616D706C650D0A546F3A20616E6140756E692E6578616D706C650D0A0D0A73747564656E7473206F662041310D0A',1,'pending',0,NULL,'2026-10-05 07:00:00.000000','2026-10-05 07:00:00.000000',NULL,NULL);
CREATE TABLE scores (
	student_id VARCHAR(200) NOT NULL, 
	week VARCHAR(10) NOT NULL, 
	risk FLOAT NOT NULL, 
	tier VARCHAR(10) NOT NULL, 
	advisor_id VARCHAR(200), 
	program_id VARCHAR(200) NOT NULL, 
	courses TEXT NOT NULL, 
	reasons TEXT NOT NULL, 
	model_version VARCHAR(64) NOT NULL, 
	as_of DATETIME NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	PRIMARY KEY (student_id, week), 
	FOREIGN KEY(run_id) REFERENCES scoring_runs (run_id)
);
CREATE TABLE scoring_runs (
	run_id VARCHAR(64) NOT NULL, 
	week VARCHAR(10) NOT NULL, 
	as_of DATETIME NOT NULL, 
	model_name VARCHAR(200) NOT NULL, 
	model_version VARCHAR(64) NOT NULL, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	n_students INTEGER NOT NULL, 
	n_scored INTEGER NOT NULL, 
	n_high INTEGER NOT NULL, 
	n_medium INTEGER NOT NULL, 
	n_low INTEGER NOT NULL, 
	drift_summary TEXT NOT NULL, 
	details TEXT NOT NULL, 
	PRIMARY KEY (run_id)
);
CREATE INDEX ix_scoring_runs_week ON scoring_runs (week);
CREATE INDEX ix_outbox_status ON outbox (status);
CREATE INDEX ix_scores_week_advisor ON scores (week, advisor_id);
COMMIT;
