DROP TABLE products;
DROP TABLE sellers;
