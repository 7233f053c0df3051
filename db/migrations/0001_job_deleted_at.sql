ALTER TABLE `jobs` ADD `deleted_at` integer;--> statement-breakpoint
CREATE INDEX `jobs_deleted` ON `jobs` (`deleted_at`);