-- A job's webhook event is written by its lifecycle (edge/jobs/lifecycle.ts), in the same write as
-- the status change that ends it, with an id from core/ids.ts; the trigger that did it goes.
DROP TRIGGER IF EXISTS `jobs_webhook_event`;
