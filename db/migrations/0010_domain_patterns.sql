CREATE TABLE `domain_patterns` (
	`domain` text NOT NULL,
	`pattern` text NOT NULL,
	`count` integer DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`domain`, `pattern`)
);
