ALTER TABLE `jobs` ADD `rejects` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `deleted_at` integer;--> statement-breakpoint
CREATE INDEX `jobs_deleted` ON `jobs` (`deleted_at`);