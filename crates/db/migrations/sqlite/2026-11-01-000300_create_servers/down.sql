DROP TABLE server_members;
DROP TABLE servers;
