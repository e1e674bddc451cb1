# sh -c with pipelines of three, exit statuses through pipes, a long pipeline.
PATH=/bin
sh -c 'cat /data/words.txt | sort | uniq -c'
sh -c 'cat /data/dups.txt | uniq | wc -l | tr 0-9 a-j'
for f in $(ls /data/sub); do echo "$f"; cat /data/sub/b.txt | wc -l; done
cat /data/a.txt | tr a-z A-Z | sed s/L/_/g | grep -v LAST | sort -r | head -n 3 | cat -n
false | true; echo "pipeline status: $?"
true | false; echo "pipeline status: $?"
seq 1 2000 | grep 7 | wc -l
