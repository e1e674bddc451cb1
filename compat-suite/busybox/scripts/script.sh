# busybox sh: pipelines, redirections, command substitution, loops, background jobs.
PATH=/bin
echo "pipeline: $(cat /data/words.txt | sort | uniq | wc -l)"
for f in $(ls /data); do echo "file: $f"; done
sort -r /data/words.txt > /tmp/sorted
head -n 2 < /tmp/sorted
echo appended >> /tmp/sorted
wc -l < /tmp/sorted
cat /nonexistent 2> /tmp/err; echo "status: $?"
cat /tmp/err
(echo sub; echo shell) | tr a-z A-Z
n=0; for i in $(seq 1 5); do n=$((n + i)); done; echo "sum: $n"
sleep 0.2 &
(echo bg-output > /tmp/bg) &
wait
cat /tmp/bg
false & wait $!; echo "bg false: $?"
{ sleep 10 & kill $!; wait $!; echo "killed job: $?"; } 2>/dev/null      # "Terminated" comes or not, by timing
sh -c 'exit 7'; echo "child sh: $?"
x=$(echo nested $(echo deep)); echo "$x"
if grep -q apple /data/words.txt; then echo found; fi
echo hello | { read line; echo "read: $line"; }
cat /data/words.txt | grep an | sed s/a/A/g | sort
cat <<END
here $n
END
exec 3> /tmp/fd3; echo "to fd 3" >&3; exec 3>&-; cat /tmp/fd3
exit 3
