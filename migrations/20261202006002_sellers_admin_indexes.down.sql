DROP INDEX sellers_state;
DROP INDEX sellers_newest;
