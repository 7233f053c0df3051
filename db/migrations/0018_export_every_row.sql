CREATE TABLE `job_rows` (
	`job_id` text NOT NULL,
	`row_index` integer NOT NULL,
	`normalized` text,
	`reason` text,
	`row` text NOT NULL,
	PRIMARY KEY(`job_id`, `row_index`),
	FOREIGN KEY (`job_id`) REFERENCES `jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `job_rows_job_normalized` ON `job_rows` (`job_id`,`normalized`);